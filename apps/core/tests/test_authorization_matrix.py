"""Every object route in the URLconf, called by {anonymous, another user, the owner, an admin}.

HOW TO ADD A ROUTE (one line in ``ROUTES``):
    key   the route exactly as the URLconf spells it (``test_every_object_route_has_an_entry``
          prints the missing ones in this form), e.g. ``"api/widgets/<str:widget_id>"``;
    value ``Case(method, make, ...)``: ``make(owner)`` builds one object owned by ``owner``
          and returns the path parameters that name it (it is called afresh for each
          caller, so a DELETE never sees a deleted object). ``query``/``body`` are sent as
          given. The expected statuses default to anonymous 401, another user 404 (a foreign
          object is not found, never forbidden), owner 200 and admin ``OWNER_SCOPED``; give
          ``owner=204`` and the like where the document says so.
    or    ``NotAnObject("why")`` for a parameterised route that names no user's object;
    or    ``CoveredElsewhere("path/to/test.py::test_name", why="...")`` only where the route
          cannot be called this way at all (say why); that test must call the route as
          anonymous (401) and as another user (404). Every route has a ``Case`` today: sandboxes
          and deployments are real ones (``sandbox=True``: bubblewrap, a root of the test's own).

``OWNER_SCOPED``: on the five end-user APIs a user's agents, chats, documents and tasks are
private to them, staff included (staff work in the Django admin at /admin/), so an admin
calling another user's object gets the same 404 as anyone else. The console routes
(``api/v1/admin/...``) name the platform's own objects: there the admin is the owner,
and a signed-in user without the permission code gets 403 (``CONSOLE``).
"""
from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from apps.accounts.models import LoginLog, OperationLog, User
from apps.accounts.services.api_keys import api_key_create
from apps.accounts.tests.factories import DepartmentFactory, MenuFactory, RoleFactory, UserFactory
from apps.agents import workspace
from apps.agents.tests.factories import AgentFactory
from apps.conversations.models import AgentRun, Project, RunEvent
from apps.conversations.tests.factories import AgentRunFactory, MessageFactory, ProjectFactory, ThreadFactory
from apps.knowledge.models import Chunk
from apps.knowledge.tests.factories import DocumentFactory, KnowledgeBaseFactory
from apps.providers.tests.factories import LLMProviderFactory
from apps.sandboxes.tests import conftest as sandbox_conftest  # the module: its autouse fixture stays there
from apps.tasks.tests.factories import TaskFactory
from apps.tools.models import MCPServer, ToolkitProfile
from apps.tools.toolkits.catalog import catalog_install, toolkit_get

OWNER_SCOPED = 404


@dataclass(frozen=True)
class Case:
    method: str
    make: Callable[[User], dict[str, Any]]
    #: Sent as given, after ``str.format`` with what ``make`` returned.
    query: str = ""
    #: A JSON body, or a callable returning a multipart one (files cannot be sent twice).
    body: dict[str, Any] | Callable[[], dict[str, Any]] | None = None
    anonymous: int = 401
    other: int = 404
    owner: int | None = 200
    admin: int = OWNER_SCOPED
    #: Sandboxes (bubblewrap) under a root of the test's own; skipped where bubblewrap is missing.
    sandbox: bool = False


@dataclass(frozen=True)
class NotAnObject:
    reason: str


@dataclass(frozen=True)
class CoveredElsewhere:
    test: str
    why: str


def CONSOLE(  # noqa: N802
    method: str, make: Callable[[User], dict[str, Any]], body: dict[str, Any] | None = None, admin: int = 200
) -> Case:
    return Case(method, make, body=body, other=403, owner=None, admin=admin)


# ------------------------------------------------------------------------------
# Builders: one object of ``owner``'s, and the path parameters that name it
# ------------------------------------------------------------------------------
def _agent(owner: User) -> dict[str, Any]:
    return {"agent_id": AgentFactory(owner=owner).pk}


def _agent_with_file(owner: User) -> dict[str, Any]:
    # A workspace belongs to the user whose session (thread) it is.
    agent = AgentFactory(owner=owner)
    session = ThreadFactory(owner=owner).pk
    workspace.workspace_write(agent_id=str(agent.pk), session_id=session, file_path="notes.txt", content="hello")
    return {"agent_id": agent.pk, "session_id": session}


def _media_file(owner: User) -> dict[str, Any]:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    return {"name": default_storage.save(f"oss/{owner.pk}/matrix/notes.txt", ContentFile(b"hello"))}


def _provider(owner: User) -> dict[str, Any]:
    return {"provider_id": LLMProviderFactory(owner=owner).pk}


def _thread(owner: User, key: str = "thread_id") -> dict[str, Any]:
    thread = ThreadFactory(owner=owner)
    MessageFactory(thread=thread)
    return {key: thread.pk}


def _session(owner: User) -> dict[str, Any]:
    return _thread(owner, "session_id")


def _finished_session(owner: User) -> dict[str, Any]:
    return {"session_id": _finished_run(owner)["agent_run_id"].thread_id}


def _shared_session(owner: User) -> dict[str, Any]:
    thread = ThreadFactory(owner=owner, is_shared=True)
    return {"session_id": thread.pk}


def _finished_run(owner: User) -> dict[str, Any]:
    run = AgentRunFactory(thread=ThreadFactory(owner=owner), status=AgentRun.Status.COMPLETED)
    RunEvent.objects.create(run=run, sequence=1, type="end", payload={"status": "completed"}, created_at=run.created_at)
    return {"agent_run_id": _RunId(run)}


class _RunId(str):
    """A run's id that still knows its run, for the builders that need its thread."""

    def __new__(cls, run: AgentRun) -> _RunId:
        value = super().__new__(cls, str(run.pk))
        value.thread_id = run.thread_id
        return value


def _project(owner: User) -> dict[str, Any]:
    return {"project_id": ProjectFactory(owner=owner).pk}


def _document(owner: User, key: str = "document_id") -> dict[str, Any]:
    return {key: DocumentFactory(owner=owner).pk}


def _library_file(owner: User) -> dict[str, Any]:
    return {"filename": DocumentFactory(owner=owner).filename}


def _kb(owner: User) -> dict[str, Any]:
    return {"kdb_id": KnowledgeBaseFactory(owner=owner).pk}


def _kb_document(owner: User) -> dict[str, Any]:
    return {"doc_id": DocumentFactory(owner=owner, knowledge_base=KnowledgeBaseFactory(owner=owner)).pk}


def _chunk(owner: User) -> dict[str, Any]:
    document = DocumentFactory(owner=owner)
    chunk = Chunk.objects.create(document=document, ordinal=0, content="hello", embedding=[0.0] * 383 + [1.0])
    return {"chunk_id": chunk.pk}


def _rag_resource(owner: User) -> dict[str, Any]:
    return {"resource_id": KnowledgeBaseFactory(owner=owner).pk}


def _task(owner: User) -> dict[str, Any]:
    return {"task_id": TaskFactory(owner=owner).pk}


def _task_document(owner: User) -> dict[str, Any]:
    task = TaskFactory(owner=owner)
    return {"task_id": task.pk, "document_id": DocumentFactory(owner=owner, task_id=str(task.pk)).pk}


def _api_key(owner: User) -> dict[str, Any]:
    key, _ = api_key_create(owner=owner, name="ci")
    return {"key_id": key.pk}


def _user(owner: User) -> dict[str, Any]:
    return {"id": UserFactory().pk}


def _role(owner: User) -> dict[str, Any]:
    return {"id": RoleFactory().pk}


def _dept(owner: User) -> dict[str, Any]:
    return {"id": DepartmentFactory().pk}


def _menu(owner: User) -> dict[str, Any]:
    return {"id": MenuFactory().pk}


def _login_log(owner: User) -> dict[str, Any]:
    return {"id": LoginLog.objects.create(username="x", succeeded=True).pk}


def _opera_log(owner: User) -> dict[str, Any]:
    return {"id": OperationLog.objects.create(method="POST", path="/x", status_code=200, duration_ms=1).pk}


def _text_file() -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("notes.txt", b"Some notes.", content_type="text/plain")


WORKSPACE_FILE = "?session_id={session_id}&file_path=notes.txt"


def _mcp_server(owner: User, key: str = "server_name", source: str = "server") -> dict[str, Any]:
    # A loopback URL: the tests' outbound rules refuse it, so a refresh answers without any network.
    server = MCPServer.objects.create(owner=owner, name="srv", source=source, url="http://127.0.0.1:1/mcp")
    return {key: server.name}


def _toolkit_profile(owner: User, key: str = "profile_id") -> dict[str, Any]:
    # A loopback URL, as for MCP servers: discovery is refused by the outbound rules (400), without any network.
    catalog_install()
    profile = ToolkitProfile.objects.create(
        owner=owner, toolkit=toolkit_get(slug="custom-mcp"), profile_name="Work", server_name="work",
        credentials=json.dumps({"server_url": "http://127.0.0.1:1/mcp"}), connection_id=uuid.uuid4(),
    )
    return {key: profile.connection_id if key == "connection_id" else profile.pk}


def _toolkit_connection(owner: User) -> dict[str, Any]:
    return _toolkit_profile(owner, "connection_id")


def _sandbox(owner: User, **extra: Any) -> dict[str, Any]:
    from apps.sandboxes import services as sandboxes

    return {"sandbox_id": sandboxes.sandbox_create(user=owner, template_id="python").public_id, **extra}


def _sandbox_with(owner: User, *, file: str = "", session: str = "", port: int | None = None,
                  slide: bool = False) -> dict[str, Any]:
    from apps.sandboxes import services as sandboxes
    from apps.sandboxes import slides
    from apps.sandboxes.models import Sandbox

    ids = _sandbox(owner)
    sandbox = Sandbox.objects.get(public_id=ids["sandbox_id"])
    if file:
        sandboxes.file_write(sandbox=sandbox, path=file, data=b"hello")
    if session:
        # Alive for the request: a session whose command has exited is not running (`true` raced the check).
        sandboxes.session_start(sandbox=sandbox, name=session, command="sleep 60", port=port)
    if slide:
        ids["slide_id"] = slides.slide_create(sandbox=sandbox, title="Intro", content="<p>x</p>")["id"]
    return ids


def _project_with_sandbox(owner: User) -> dict[str, Any]:
    from apps.sandboxes import services as sandboxes

    project = ProjectFactory(owner=owner)
    sandbox = sandboxes.project_sandbox_ensure_active(user=owner, project=project)[0]
    sandboxes.file_write(sandbox=sandbox, path="index.html", data=b"<h1>hi</h1>")
    return {"project_id": project.pk}


def _deployed_project(owner: User) -> dict[str, Any]:
    from apps.sandboxes import deploy

    ids = _project_with_sandbox(owner)
    deploy.project_deploy(user=owner, project=Project.objects.get(pk=ids["project_id"]))
    return ids


def _generation_job(owner: User, status: str = "queued") -> dict[str, Any]:
    from django.core.files.base import ContentFile

    from apps.studio.models import GenerationJob

    job = GenerationJob.objects.create(owner=owner, kind="podcast", input={"content": "A report."}, status=status)
    if status == GenerationJob.Status.SUCCEEDED:
        job.result_file.save("podcast.wav", ContentFile(b"RIFF...."), save=False)
        job.result_content_type = "audio/wav"
        job.save()
    return {"job_id": job.pk}


SANDBOX_ADMIN = "api/v1/agent/sandboxes/<str:sandbox_id>"
SANDBOX_PLATFORM = "api/sandboxes/<str:sandbox_id>"


def _schedule(owner: User) -> dict[str, Any]:
    from apps.tasks.schedules import schedule_create

    schedule = schedule_create(owner=owner, name="nightly", prompt="Summarise the day.",
                               agent=AgentFactory(owner=owner), cron="0 3 * * *")
    return {"schedule_id": schedule.pk}


def _codegen_config(owner: User) -> dict[str, Any]:
    import uuid

    from apps.system.models import CodeGenConfig

    config = CodeGenConfig.objects.create(app_label=f"roles_{uuid.uuid4().hex[:8]}", table_name="accounts_role",
                                          business_name="Roles", class_name="Role", created_by=owner)
    return {"config_id": config.pk}



# One entry per parameterised route of the URLconf (see the module docstring).
ROUTES: dict[str, Case | NotAnObject | CoveredElsewhere] = {
    # accounts — upstream identity providers are the site's, named by their configured id
    "api/billing/payment-methods/region/<str:country_code>": NotAnObject("a country of the shipped catalog"),
    "api/feature-flags/<str:flag_name>": NotAnObject("a site-wide flag edited in the admin, not a user's"),
    "api/auth/upstream/login/<str:provider_id>": NotAnObject("an identity provider of the site, public"),
    "api/auth/upstream/callback/<str:provider_id>": NotAnObject("an identity provider's callback, public"),
    "api/user/oauth/login/<str:provider_id>": NotAnObject("an identity provider of the site, public"),
    "api/user/oauth/callback/<str:provider_id>": NotAnObject("an identity provider's callback, public"),
    "api/keys/<str:key_id>": Case("delete", _api_key),
    # accounts — the 003 console
    "api/v1/admin/sys/users/<uuid:id>": CONSOLE("get", _user),
    "api/v1/admin/sys/roles/<bigint:id>": CONSOLE("put", _role, body={"name": "Renamed", "code": "renamed"}),
    "api/v1/admin/sys/roles/<bigint:id>/menus": CONSOLE("get", _role),
    "api/v1/admin/sys/depts/<bigint:id>": CONSOLE("delete", admin=204, make=_dept),
    "api/v1/admin/sys/menus/<bigint:id>": CONSOLE("delete", admin=204, make=_menu),
    "api/v1/admin/log/login-logs/<bigint:id>": CONSOLE("delete", admin=204, make=_login_log),
    "api/v1/admin/log/opera-logs/<bigint:id>": CONSOLE("delete", admin=204, make=_opera_log),
    # providers
    "api/llm-provider/update/<str:provider_id>": Case("put", _provider, body={"name": "Renamed"}),
    "api/llm-provider/delete/<str:provider_id>": Case("delete", _provider),
    "v1/models/<path:model>": NotAnObject("the model catalog, the same for every user"),
    # agents
    "api/agent/<uuid:agent_id>/auth": Case("get", _agent),
    "media/<path:name>": Case("get", _media_file),
    "api/agent/<uuid:agent_id>/file_workspace": Case("post", _agent),
    "api/agent/<uuid:agent_id>/file_workspace/download": Case("get", _agent_with_file, query=WORKSPACE_FILE),
    "api/agent/<uuid:agent_id>/file_workspace/delete": Case("delete", _agent_with_file, query=WORKSPACE_FILE),
    "api/agent/<uuid:agent_id>": Case("get", _agent),
    # tools
    "api/mcp/<str:server_name>": Case("delete", _mcp_server),
    "api/mcp/<str:server_name>/refresh": Case("post", _mcp_server),
    "api/v1/agent/mcp/servers/<str:name>": Case("delete", lambda owner: _mcp_server(owner, "name")),
    "api/v1/agent/user-settings/mcp/<str:tool_type>": Case(
        "delete", lambda owner: _mcp_server(owner, "tool_type", source="custom")),
    "api/v1/agent/user-settings/mcp/<str:tool_type>/toggle": Case(
        "patch", lambda owner: _mcp_server(owner, "tool_type", source="custom")),
    "api/composio/toolkits/<str:slug>/icon": NotAnObject("a toolkit of the shared catalog"),
    "api/composio/toolkits/<str:slug>/details": NotAnObject("a toolkit of the shared catalog"),
    "api/composio/profiles/<str:profile_id>": Case("get", _toolkit_profile),
    "api/composio/profiles/<str:profile_id>/mcp-config": Case("get", _toolkit_profile),
    "api/composio/profiles/<str:profile_id>/tools": Case("put", _toolkit_profile, body={"enabled_tools": []}),
    "api/composio/discover-tools/<str:profile_id>": Case("post", _toolkit_profile, owner=400),
    "api/composio/connections/status/<str:connection_id>": Case("get", _toolkit_connection),
    "api/composio/connections/<str:connection_id>": Case("delete", _toolkit_connection),
    "api/composio-secure/composio-profiles/<str:profile_id>/mcp-url": Case("get", _toolkit_profile),
    "api/composio-secure/credential-profiles/<str:profile_id>": Case("delete", _toolkit_profile),
    "api/composio-secure/credential-profiles/<str:profile_id>/set-default": Case("put", _toolkit_profile),
    "api/composio-secure/credential-profiles/<str:profile_id>/set-dashboard-default": Case("put", _toolkit_profile),
    "api/composio-secure/credential-profiles/<str:profile_id>/toggle-active": Case("put", _toolkit_profile),
    # conversations
    "threads/<str:thread_id>": Case("delete", _thread),
    "chat/<str:thread_id>/history": Case("get", _thread),
    "api/stream/resume/<str:session_id>": Case("get", _finished_session),
    "api/conversations/<str:session_id>/messages": Case("get", _session),
    # Shared on purpose: a shared conversation is public (an unshared one is a 404 to all but its owner).
    "api/share/conversations/<str:session_id>/messages": Case("get", _shared_session, anonymous=200, other=200,
                                                              admin=200),
    "api/conversations/<str:session_id>/title": Case("post", _session, body={"title": "New title"}),
    "api/conversations/<str:session_id>": Case("delete", _session),
    "api/sessions/<str:session_id>/interrupt": Case("post", _session),
    "api/sessions/<str:session_id>/tasks_status": Case("post", _session),
    "api/projects/<str:project_id>": Case("get", _project),
    "api/thread/<str:thread_id>/agent/start": Case("post", _thread, body={"message": "hi"}),
    "api/thread/<str:thread_id>/agent-runs": Case("get", _thread),
    "api/agent-run/<str:agent_run_id>/stream": Case("get", _finished_run),
    "api/agent-run/<str:agent_run_id>/stop": Case("post", _finished_run),
    "api/agent-run/<str:agent_run_id>/status": Case("get", _finished_run),
    "api/agent-run/<str:agent_run_id>": Case("get", _finished_run),
    # knowledge
    "documents/<str:filename>": Case("delete", _library_file),
    "documents/<str:filename>/reingest": Case("post", _library_file),
    "chat/<str:thread_id>/temporal": Case("delete", _thread),
    "api/documents/<str:document_id>": Case("get", _document),
    "api/documents/<str:document_id>/chunks": Case("get", _document),
    "api/chunks/<str:chunk_id>": Case("get", _chunk),
    "api/knowledge-base/delete/<str:kdb_id>": Case("delete", _kb),
    "api/knowledge-base/doc/info/<str:doc_id>": Case("get", _kb_document),
    "api/knowledge-base/doc/delete/<str:doc_id>": Case("delete", _kb_document),
    "api/knowledge-base/doc/redo/<str:doc_id>": Case("put", _kb_document),
    "api/v1/agent/rag/resources/<path:resource_id>": Case("delete", _rag_resource, owner=204),
    # tasks
    "api/tasks/<str:task_id>": Case("get", _task),
    "api/tasks/<str:task_id>/steps": Case("get", _task),
    "api/tasks/<str:task_id>/documents": Case("post", _task, body=lambda: {"file": _text_file()}),
    "api/tasks/<str:task_id>/documents/<str:document_id>": Case("get", _task_document),
    # web
    "app/assets/<path:name>": NotAnObject("the web UI's static assets"),
    "app/t/<str:thread_id>": NotAnObject("a static page shell: the thread's data comes from the API, owner-checked there"),
    # system, billing
    # sandboxes: a real (bubblewrap) sandbox per caller, under a root of the test's own
    SANDBOX_ADMIN: Case("get", _sandbox, sandbox=True),
    f"{SANDBOX_ADMIN}/info": Case("get", _sandbox, sandbox=True),
    f"{SANDBOX_ADMIN}/urls": Case("get", _sandbox, sandbox=True),
    f"{SANDBOX_ADMIN}/timeout": Case("post", _sandbox, body={"timeout": 60}, sandbox=True),
    f"{SANDBOX_ADMIN}/pause": Case("post", _sandbox, sandbox=True),
    f"{SANDBOX_ADMIN}/expose-port": Case("post", _sandbox, body={"port": 8000}, sandbox=True),
    f"{SANDBOX_ADMIN}/mkdir": Case("post", _sandbox, body={"path": "docs"}, owner=201, sandbox=True),
    f"{SANDBOX_ADMIN}/slides": Case("get", _sandbox, sandbox=True),
    f"{SANDBOX_ADMIN}/slides/<str:slide_id>": Case("get", lambda owner: _sandbox_with(owner, slide=True), sandbox=True),
    "api/project/<str:project_id>/sandbox/ensure-active": Case("post", _project, owner=201, sandbox=True),
    SANDBOX_PLATFORM: Case("delete", _sandbox, sandbox=True),
    f"{SANDBOX_PLATFORM}/files": Case("get", _sandbox, sandbox=True),
    f"{SANDBOX_PLATFORM}/files/tree": Case("get", _sandbox, sandbox=True),
    f"{SANDBOX_PLATFORM}/files/content": Case("get", lambda owner: _sandbox_with(owner, file="notes.txt"),
                                              query="?path=notes.txt", sandbox=True),
    f"{SANDBOX_PLATFORM}/download-archive": Case("get", lambda owner: _sandbox_with(owner, file="notes.txt"),
                                                 sandbox=True),
    f"{SANDBOX_PLATFORM}/execute": Case("post", _sandbox, body={"command": "true"}, sandbox=True),
    f"{SANDBOX_PLATFORM}/sessions/<str:session_name>/status": Case(
        "get", lambda owner: {**_sandbox_with(owner, session="dev"), "session_name": "dev"}, sandbox=True),
    f"{SANDBOX_PLATFORM}/preview-url": Case("get", lambda owner: _sandbox_with(owner, session="web", port=3000),
                                            query="?port=3000", sandbox=True),
    f"{SANDBOX_PLATFORM}/expo-url": Case("get", lambda owner: _sandbox_with(owner, session="expo", port=8081),
                                         sandbox=True),
    f"{SANDBOX_PLATFORM}/dev-server/stream": Case("get", lambda owner: _sandbox_with(owner, session="dev-server"),
                                                  sandbox=True),
    "api/project/<str:project_id>/deploy/git": Case("post", _project_with_sandbox, owner=201, sandbox=True),
    "api/project/<str:project_id>/deploy/git/update": Case("post", _deployed_project, sandbox=True),
    "api/project/<str:project_id>/deployment/status": Case("get", _deployed_project, sandbox=True),
    "api/project/<str:project_id>/deployment/live-status": Case("get", _deployed_project, sandbox=True),
    "^sites/(?P<slug>[a-z0-9-]{1,80})(?P<path>/.*)?$": NotAnObject("deployed sites, public by design"),
    # system, studio, tasks (issue 12 routes)
    "api/system/version/<str:version_str>": NotAnObject("a release of the platform"),
    "api/observability/jaeger/<path:full_path>": NotAnObject("a path of the tracing UI it proxies"),
    "api/v1/agent/generation/jobs/<str:job_id>": Case("get", _generation_job),
    "api/v1/agent/generation/jobs/<str:job_id>/download": Case(
        "get", lambda owner: _generation_job(owner, status="succeeded")),
    "api/v1/agent/generation/jobs/<str:job_id>/cancel": Case("post", _generation_job),
    "api/v1/admin/gen/business/<str:config_id>/generate": CONSOLE("post", _codegen_config),
    "api/v1/task/schedulers/<str:schedule_id>": Case("put", _schedule, body={"enabled": False}),
    "api/v1/task/schedulers/<str:schedule_id>/run": Case("post", _schedule),
}

#: Object routes the ASGI app serves beside the URLconf (codex/asgi.py's MCP_ENDPOINTS), where each
#: endpoint's own tests call them through the SDK's client as anonymous, another user and the owner.
ASGI_ROUTES: dict[str, CoveredElsewhere] = {
    "mcp/agents/<agent_id>": CoveredElsewhere(
        "apps/conversations/tests/test_mcp_agents.py::test_another_users_agent_is_not_found",
        why="an MCP endpoint outside the URLconf: JSON-RPC over streamable HTTP, driven by the SDK's client",
    ),
    "mcp/sandboxes/<sandbox_id>": CoveredElsewhere(
        "apps/sandboxes/tests/test_mcp.py::test_only_the_owner_may_use_it",
        why="an MCP endpoint outside the URLconf: JSON-RPC over streamable HTTP, driven by the SDK's client",
    ),
}

#: Not ours to enumerate: Django's admin and allauth's pages have their own permission model.
FOREIGN_PREFIXES = ("admin/", "accounts/")
_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _object_routes() -> list[str]:
    def walk(patterns: list[Any], prefix: str = "") -> Any:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern)

    return [route for route in walk(get_resolver().url_patterns)
            if _PARAMETER.search(route) and not route.startswith(FOREIGN_PREFIXES)]


def test_every_object_route_has_an_entry():
    routes = _object_routes()
    missing = [route for route in routes if route not in ROUTES]
    assert not missing, "add these routes to ROUTES in apps/core/tests/test_authorization_matrix.py:\n" + "\n".join(
        f'    "{route}": Case(...),' for route in missing
    )
    base = Path(__file__).resolve().parents[3]
    unknown = [entry.test for entry in ROUTES.values() if isinstance(entry, CoveredElsewhere)
               and not _test_exists(base, entry.test)]
    assert not unknown, f"CoveredElsewhere names tests that do not exist: {unknown}"
    stale = [route for route in ROUTES if route not in routes]
    assert not stale, f"ROUTES names routes the URLconf no longer has: {stale}"


def test_every_asgi_mounted_object_route_has_an_entry():
    from codex.asgi import MCP_ENDPOINTS

    assert {endpoint.route for endpoint in MCP_ENDPOINTS} == set(ASGI_ROUTES)
    base = Path(__file__).resolve().parents[3]
    assert all(_test_exists(base, entry.test) for entry in ASGI_ROUTES.values())


def _test_exists(base: Path, test: str) -> bool:
    path, _, name = test.partition("::")
    file = base / path
    return file.exists() and (not name or f"def {name}(" in file.read_text())


def _url(route: str, kwargs: dict[str, Any], query: str) -> str:
    return "/" + _PARAMETER.sub(lambda match: str(kwargs[match.group("name")]), route) + query.format(**kwargs)


CASES = [(route, case) for route, case in ROUTES.items() if isinstance(case, Case)]


@pytest.mark.django_db
@pytest.mark.parametrize("caller", ["anonymous", "other", "owner", "admin"])
@pytest.mark.parametrize(("route", "case"), CASES, ids=[route for route, _ in CASES])
def test_each_caller_gets_the_documented_status(route, case, caller, alice, bob, admin_user, client_for, settings):
    expected = getattr(case, caller)
    if expected is None:
        pytest.skip(f"{route} has no owner but the platform")
    with ExitStack() as stack:
        if case.sandbox:
            if shutil.which("bwrap") is None:
                pytest.skip("bubblewrap is not installed (scripts/ensure-system.sh)")
            stack.enter_context(sandbox_conftest.sandbox_test_settings(settings))
        _call(route, case, caller, expected, alice, bob, admin_user, client_for)


def _call(route, case, caller, expected, alice, bob, admin_user, client_for) -> None:
    client = {"anonymous": APIClient(), "other": None, "owner": None, "admin": None}[caller] or client_for(
        {"other": bob, "owner": alice, "admin": admin_user}[caller]
    )
    url = _url(route, case.make(alice), case.query)
    send = getattr(client, case.method)
    if callable(case.body):
        response = send(url, case.body(), format="multipart")
    elif case.body is not None:
        response = send(url, case.body, format="json")
    else:
        response = send(url)
    body = b"" if response.streaming else response.content[:300]
    assert response.status_code == expected, f"{caller} {case.method.upper()} {url}: {response.status_code} {body!r}"
