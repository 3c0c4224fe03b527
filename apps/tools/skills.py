"""Skills: who sees which, the writes (upload, import, edit, delete), and the run's ``load_skill`` tool.

Progressive disclosure: a run's prompt lists its skills by name and description only;
``load_skill`` returns one skill's instructions and the list of its resources, and a
second call with ``resource`` reads one of them.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from apps.core.errors import Conflict, Forbidden, Invalid, NotFound
from apps.core.fetch import fetch_bytes
from apps.core.reads import shared
from apps.tools.models import Skill, SkillFile, SkillVersion
from apps.tools.registry import Tool, ToolContext, ToolFailed
from apps.tools.skillfiles import MAX_UNPACKED_BYTES, SKILL_FILE, SkillBundle, parse_skill_md, read_skill_zip
from apps.tools.toolset import Provision, ToolsetRequest

LOAD_SKILL = "load_skill"
MAX_RESOURCE_CHARS = 50_000


# ------------------------------------------------------------------------------
# Reads
# ------------------------------------------------------------------------------
def _owned_agent_ids(user: Any) -> QuerySet:
    # The agent model through the relation: the tools app does not import the agents app (it imports us).
    return Skill._meta.get_field("agent").related_model.objects.filter(owner=user).values("pk")


def skill_list(*, user: Any, agent_id: str | None = None, dimension: str = "") -> QuerySet[Skill]:
    """The skills the user may use: system ones, their own, and those of their agents (or of one agent)."""
    skills = Skill.objects.filter(
        Q(scope=Skill.Scope.SYSTEM) | Q(scope=Skill.Scope.USER, owner=user)
        | Q(scope=Skill.Scope.AGENT, agent__in=_owned_agent_ids(user))
    )
    if agent_id:
        skills = skills.filter(~Q(scope=Skill.Scope.AGENT) | Q(agent_id=_uuid(agent_id)))
    if dimension in Skill.Scope.values:
        skills = skills.filter(scope=dimension)
    return skills.select_related("agent").order_by("scope", "name")


def skill_agent_available(*, user: Any, agent_id: str) -> QuerySet[Skill]:
    """What an agent can be given: system skills, the user's own and that agent's."""
    _check_agent(user, agent_id)
    return skill_list(user=user, agent_id=agent_id)


def skill_get(*, user: Any, name: str, agent_id: str | None = None) -> Skill:
    """The skill called ``name`` the user sees: an agent's (if asked), their own, else the system one."""
    skills = skill_list(user=user, agent_id=agent_id).filter(name=name)
    order = {Skill.Scope.AGENT: 0, Skill.Scope.USER: 1, Skill.Scope.SYSTEM: 2}
    found = sorted(skills, key=lambda skill: order[skill.scope])
    if agent_id:
        found = [skill for skill in found if skill.scope != Skill.Scope.AGENT or str(skill.agent_id) == str(agent_id)]
    if not found:
        raise NotFound("Skill not found.")
    return found[0]


def skill_get_editable(*, user: Any, name: str, agent_id: str | None = None) -> Skill:
    """A skill the user may change: their own or their agent's; a system skill only for staff."""
    skill = skill_get(user=user, name=name, agent_id=agent_id)
    if skill.scope == Skill.Scope.SYSTEM and not user.is_staff:
        raise Forbidden("Only staff can change a system skill.")
    return skill


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def _check_agent(user: Any, agent_id: str | None) -> str:
    pk = _uuid(agent_id or "")
    if not pk or not _owned_agent_ids(user).filter(pk=pk).exists():
        raise NotFound("Agent not found.")
    return pk


# ------------------------------------------------------------------------------
# Writes
# ------------------------------------------------------------------------------
def _scope(user: Any, *, is_system: bool, is_agent: bool, agent_id: str | None) -> tuple[str, str | None]:
    if is_system and is_agent:
        raise Invalid("A skill is either a system skill or an agent's, not both.",
                      field_errors={"is_system": ["Choose one scope."]})
    if is_system:
        if not user.is_staff:
            raise Forbidden("Only staff can add system skills.")
        return Skill.Scope.SYSTEM, None
    if is_agent or agent_id:
        return Skill.Scope.AGENT, _check_agent(user, agent_id)
    return Skill.Scope.USER, None


@transaction.atomic
def skill_save_bundle(*, user: Any, bundle: SkillBundle, is_system: bool = False, is_agent: bool = False,
                      agent_id: str | None = None) -> Skill:
    """Create the skill, or replace the one of the same name in that scope (a new version)."""
    scope, agent_pk = _scope(user, is_system=is_system, is_agent=is_agent, agent_id=agent_id)
    document = bundle.document
    lookup: dict[str, Any] = {"scope": scope, "name": document.name}
    if scope == Skill.Scope.USER:
        lookup["owner"] = user
    elif scope == Skill.Scope.AGENT:
        lookup["agent_id"] = agent_pk
    skill = Skill.objects.select_for_update().filter(**lookup).first()
    if skill is None:
        try:
            with transaction.atomic():
                skill = Skill.objects.create(owner=user, agent_id=agent_pk, scope=scope, name=document.name,
                                             description=document.description, content=document.content)
        except IntegrityError as exc:
            raise Conflict("A skill of this name is being saved by another request; retry.") from exc
    else:
        _new_version(skill, document.description, document.content)
        skill.files.all().delete()
    _add_files(skill, bundle.files)
    return skill


def _new_version(skill: Skill, description: str, content: str) -> None:
    """Keep the current SKILL.md as a version, then replace it."""
    SkillVersion.objects.get_or_create(skill=skill, version=skill.version, defaults={"content": skill.content})
    skill.description, skill.content, skill.version = description, content, skill.version + 1
    skill.save(update_fields=["description", "content", "version", "updated_at"])


def _add_files(skill: Skill, files: dict[str, bytes]) -> None:
    SkillFile.objects.bulk_create(
        [SkillFile(skill=skill, path=path, data=data, size=len(data)) for path, data in sorted(files.items())]
    )


def skill_upload(*, user: Any, data: bytes, is_system: bool = False, is_agent: bool = False,
                 agent_id: str | None = None) -> Skill:
    return skill_save_bundle(user=user, bundle=read_skill_zip(data), is_system=is_system, is_agent=is_agent,
                             agent_id=agent_id)


async def skill_import_url(*, user: Any, url: str, is_system: bool = False, is_agent: bool = False,
                           agent_id: str | None = None) -> Skill:
    """Fetch a skill ZIP through the SSRF-safe fetcher (public addresses only), then save it."""
    result = await fetch_bytes(url, max_bytes=MAX_UNPACKED_BYTES)
    if result.status != 200:
        raise Invalid(f"The URL answered HTTP {result.status}, not a skill ZIP.", field_errors={"url": ["Not found."]})
    if result.truncated:
        raise Invalid("The archive at that URL is too large.", field_errors={"url": ["Too large."]})
    return await sync_to_async(skill_upload)(user=user, data=result.content, is_system=is_system,
                                             is_agent=is_agent, agent_id=agent_id)


@transaction.atomic
def skill_content_update(*, skill: Skill, content: str) -> Skill:
    """Replace SKILL.md (validated; the name stays) and keep the previous text as a version."""
    document = parse_skill_md(content)
    if document.name != skill.name:
        raise Invalid("The name in SKILL.md cannot change; upload the skill under its new name instead.",
                      field_errors={"content": ["The name must stay " + skill.name + "."]})
    skill = Skill.objects.select_for_update().get(pk=skill.pk)
    _new_version(skill, document.description, content)
    return skill


def skill_delete(*, skill: Skill) -> None:
    skill.delete()


SYSTEM_SKILLS_DIR = Path(__file__).resolve().parent / "system_skills"


def system_skills_install(*, directory: Path = SYSTEM_SKILLS_DIR) -> list[tuple[str, str]]:
    """Install each shipped skill folder as an owner-less system skill; an unchanged one is left alone."""
    outcomes = []
    for folder in sorted(path for path in directory.iterdir() if (path / SKILL_FILE).is_file()):
        files = {
            str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != SKILL_FILE
        }
        document = parse_skill_md((folder / SKILL_FILE).read_text(encoding="utf-8"))
        outcomes.append((document.name, _install_system_skill(SkillBundle(document=document, files=files))))
    return outcomes


@transaction.atomic
def _install_system_skill(bundle: SkillBundle) -> str:
    document = bundle.document
    skill = Skill.objects.select_for_update().filter(scope=Skill.Scope.SYSTEM, name=document.name).first()
    if skill is None:
        skill = Skill.objects.create(owner=None, scope=Skill.Scope.SYSTEM, name=document.name,
                                     description=document.description, content=document.content)
        outcome = "installed"
    elif skill.content == document.content and {file.path: bytes(file.data) for file in skill.files.all()} == bundle.files:
        return "unchanged"
    else:
        _new_version(skill, document.description, document.content)
        skill.files.all().delete()
        outcome = f"updated to version {skill.version}"
    _add_files(skill, bundle.files)
    return outcome


# ------------------------------------------------------------------------------
# In a run
# ------------------------------------------------------------------------------
def _run_skills(request: ToolsetRequest) -> list[Skill]:
    skills = skill_list(user=request.user, agent_id=request.agent_id)
    if request.skill_names is not None:
        # The agent's own skills always come with it; the others only when named.
        skills = skills.filter(Q(name__in=list(request.skill_names)) | Q(scope=Skill.Scope.AGENT))
    chosen: dict[str, Skill] = {}
    order = {Skill.Scope.AGENT: 0, Skill.Scope.USER: 1, Skill.Scope.SYSTEM: 2}
    for skill in sorted(skills, key=lambda item: order[item.scope]):
        chosen.setdefault(skill.name, skill)
    return sorted(chosen.values(), key=lambda skill: skill.name)


def _resource_text(file: SkillFile) -> str:
    data = bytes(file.data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"{file.path} is a binary file of {file.size} bytes; it cannot be shown as text."
    if len(text) > MAX_RESOURCE_CHARS:
        text = text[:MAX_RESOURCE_CHARS] + f"\n… (truncated at {MAX_RESOURCE_CHARS} characters)"
    return text


def _load(skill_ids: dict[str, str], name: str, resource: str) -> str:
    skill_id = skill_ids.get(name)
    if skill_id is None:
        raise ToolFailed(f"No skill named {name!r} is available. Available: {', '.join(skill_ids) or 'none'}.")
    skill = Skill.objects.get(pk=skill_id)
    files = list(skill.files.defer("data"))
    if resource:
        file = skill.files.filter(path=resource.strip().lstrip("./")).first()
        if file is None:
            listing = ", ".join(item.path for item in files) or "none"
            raise ToolFailed(f"The skill {name} has no resource {resource!r}. Its resources: {listing}.")
        return _resource_text(file)
    body = parse_skill_md(skill.content).body
    listing = "\n".join(f"- {item.path} ({item.size} bytes)" for item in files)
    resources = (
        f"\n\nResources of this skill (read one with {LOAD_SKILL} and its path as `resource`):\n{listing}"
        if files else ""
    )
    return f"# Skill: {skill.name}\n\n{body}{resources}"


def skills_provision(request: ToolsetRequest) -> Provision:
    """The run's skills, listed in the prompt by name and description, and the ``load_skill`` tool."""
    names = None if request.skill_names is None else tuple(request.skill_names)
    skills = shared(("run-skills", request.user.pk, request.agent_id, names), lambda: _run_skills(request))
    if not skills:
        return Provision()
    skill_ids = {skill.name: str(skill.pk) for skill in skills}

    async def load_skill(params: dict[str, Any], context: ToolContext) -> str:
        return await sync_to_async(_load)(skill_ids, str(params["name"]), str(params.get("resource") or ""))

    tool = Tool(
        name=LOAD_SKILL,
        description=(
            "Load a skill's instructions before following it: pass its name. The answer lists the skill's "
            "resource files; pass a path as `resource` to read one. Available skills: "
            + ", ".join(skill_ids) + "."
        ),
        function=load_skill,
        parameters={
            "type": "object",
            "properties": {
                "name": {"type": "string", "enum": list(skill_ids)},
                "resource": {"type": "string", "description": "A resource path listed by the first call."},
            },
            "required": ["name"],
        },
        type="skill",
    )
    lines = "\n".join(f"- {skill.name}: {skill.description}" for skill in skills)
    instructions = (
        f"Skills you can use (call {LOAD_SKILL} with a skill's name to read its instructions before you follow it):\n"
        + lines
    )
    return Provision(tools=[tool], instructions=instructions)
