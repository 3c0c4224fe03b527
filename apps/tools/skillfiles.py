"""Reading a skill folder: SKILL.md's front matter, and a ZIP checked before anything is unpacked.

The open Agent Skills format: ``SKILL.md`` starts with YAML front matter holding
``name`` (lower-case letters, digits and hyphens) and ``description``, then the
instructions; any other file of the folder is a resource the skill may point to.
"""
from __future__ import annotations

import io
import posixpath
import re
import stat
import zipfile
from dataclasses import dataclass, field

import yaml

from apps.core.errors import Invalid

SKILL_FILE = "SKILL.md"
MAX_FILES = 100
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_SKILL_MD_CHARS = 200_000
NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def _bad(message: str, field_name: str = "file") -> Invalid:
    return Invalid(message, field_errors={field_name: [message]})


@dataclass(frozen=True)
class SkillDocument:
    name: str
    description: str
    body: str
    content: str


@dataclass
class SkillBundle:
    document: SkillDocument
    files: dict[str, bytes] = field(default_factory=dict)


def parse_skill_md(content: str, *, field_name: str = "content") -> SkillDocument:
    """The front matter's ``name`` and ``description`` and the instructions after it; a clear 400 otherwise."""
    if len(content) > MAX_SKILL_MD_CHARS:
        raise _bad(f"SKILL.md may hold at most {MAX_SKILL_MD_CHARS} characters.", field_name)
    match = _FRONT_MATTER.match(content.lstrip("\ufeff"))
    if not match:
        raise _bad("SKILL.md must start with YAML front matter between two '---' lines.", field_name)
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise _bad(f"SKILL.md front matter is not valid YAML: {str(exc).splitlines()[0]}", field_name) from exc
    if not isinstance(meta, dict):
        raise _bad("SKILL.md front matter must be a mapping with name and description.", field_name)
    name, description = meta.get("name"), meta.get("description")
    if not isinstance(name, str) or not NAME.match(name) or len(name) > 64:
        raise _bad("SKILL.md needs a name of up to 64 lower-case letters, digits and hyphens.", field_name)
    if not isinstance(description, str) or not description.strip() or len(description) > 1024:
        raise _bad("SKILL.md needs a description of 1 to 1024 characters.", field_name)
    body = content.lstrip("\ufeff")[match.end():].strip()
    return SkillDocument(name=name, description=" ".join(description.split()), body=body, content=content)


def _member_path(info: zipfile.ZipInfo) -> str:
    raw = info.filename
    if "\\" in raw or raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise _bad(f"Refusing the archive: {raw!r} is an absolute or Windows path.")
    normal = posixpath.normpath(raw)
    if normal == ".." or normal.startswith("../") or "/../" in f"/{raw}/":
        raise _bad(f"Refusing the archive: {raw!r} points outside the skill folder.")
    return normal


def read_skill_zip(data: bytes) -> SkillBundle:
    """Check and unpack a skill ZIP in memory: no path escapes, no symlinks, bounded count and size."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _bad("The upload is not a ZIP archive.") from exc
    with archive:
        members = []
        for info in archive.infolist():
            path = _member_path(info)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise _bad(f"Refusing the archive: {info.filename!r} is a symbolic link.")
            if not info.is_dir():
                members.append((path, info))
        if len(members) > MAX_FILES:
            raise _bad(f"A skill may hold at most {MAX_FILES} files.")
        if sum(info.file_size for _, info in members) > MAX_UNPACKED_BYTES:
            raise _bad(f"A skill may hold at most {MAX_UNPACKED_BYTES // (1024 * 1024)} MB unpacked.")
        paths = [path for path, _ in members]
        # The folder may be the archive's root or its one top-level directory.
        prefix = ""
        if SKILL_FILE not in paths:
            tops = {path.split("/", 1)[0] for path in paths}
            if len(tops) == 1 and f"{next(iter(tops))}/{SKILL_FILE}" in paths:
                prefix = next(iter(tops)) + "/"
            else:
                raise _bad("The archive has no SKILL.md at its root.")
        files: dict[str, bytes] = {}
        unpacked = 0
        for path, info in members:
            with archive.open(info) as handle:
                # Read at most the limit: the sizes in the directory are the archive's own claim.
                chunk = handle.read(MAX_UNPACKED_BYTES - unpacked + 1)
            unpacked += len(chunk)
            if unpacked > MAX_UNPACKED_BYTES:
                raise _bad(f"A skill may hold at most {MAX_UNPACKED_BYTES // (1024 * 1024)} MB unpacked.")
            if path.startswith(prefix):
                files[path[len(prefix):]] = chunk
    try:
        skill_md = files.pop(SKILL_FILE).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad("SKILL.md must be UTF-8 text.") from exc
    return SkillBundle(document=parse_skill_md(skill_md, field_name="file"), files=files)
