"""Agent workspaces: files an agent writes per session, on Django's default storage.

Layout: ``workspaces/<agent id>/<session id>/<path>``. Every path a client names is
checked to stay inside its workspace: no ``..``, no absolute path, no symlink out.
"""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.agents.models import Agent
from apps.core.errors import Invalid, NotFound

ROOT = "workspaces"
_SESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class WorkspaceFile:
    path: str  # relative to the workspace
    name: str
    size: int
    modified: datetime | None


def workspace_root(*, agent: Agent, session_id: str | None) -> str:
    return _root(agent.pk, session_id)


def _root(agent_pk: object, session_id: str | None) -> str:
    base = f"{ROOT}/{agent_pk}"
    if not session_id:
        return base
    if not _SESSION.match(session_id) or session_id in (".", ".."):
        raise Invalid("Invalid session_id.", field_errors={"session_id": ["Letters, digits, '-', '_' and '.' only."]})
    return f"{base}/{session_id}"


def _inside(root: str, relative: str) -> str:
    """The storage name of ``relative`` under ``root``, or a 400 if it would leave it."""
    if not relative or "\x00" in relative or "\\" in relative:
        raise Invalid("Invalid file_path.", field_errors={"file_path": ["A relative path inside the workspace."]})
    if relative.startswith("/") or re.match(r"^[A-Za-z]:", relative):
        raise Invalid("Absolute paths are not allowed.", field_errors={"file_path": ["Must be relative."]})
    parts = relative.split("/")
    if any(part == ".." for part in parts):
        raise Invalid("Paths may not leave the workspace.", field_errors={"file_path": ["'..' is not allowed."]})
    name = posixpath.normpath(f"{root}/{relative}")
    if not name.startswith(root + "/"):
        raise Invalid("Paths may not leave the workspace.", field_errors={"file_path": ["Outside the workspace."]})
    try:
        real_root = os.path.realpath(default_storage.path(root))
        real_name = os.path.realpath(default_storage.path(name))
    except NotImplementedError:
        # Object storage has no symlinks; the name checks above are enough.
        return name
    if os.path.commonpath([real_root, real_name]) != real_root:
        raise Invalid("Paths may not leave the workspace.", field_errors={"file_path": ["Outside the workspace."]})
    return name


def workspace_list(*, agent: Agent, session_id: str | None) -> list[WorkspaceFile]:
    root = workspace_root(agent=agent, session_id=session_id)
    files: list[WorkspaceFile] = []

    def walk(prefix: str) -> None:
        try:
            directories, names = default_storage.listdir(f"{root}/{prefix}".rstrip("/"))
        except (FileNotFoundError, NotADirectoryError):
            return
        for name in sorted(names):
            relative = f"{prefix}{name}"
            try:
                storage_name = _inside(root, relative)
            except Invalid:
                continue  # a symlink pointing out of the workspace is not listed
            try:
                modified = default_storage.get_modified_time(storage_name)
            except (NotImplementedError, OSError):
                modified = None
            files.append(WorkspaceFile(relative, name, default_storage.size(storage_name), modified))
        for directory in sorted(directories):
            walk(f"{prefix}{directory}/")

    walk("")
    return files


def workspace_file(*, agent: Agent, session_id: str | None, file_path: str) -> str:
    """The storage name of an existing workspace file."""
    name = _inside(workspace_root(agent=agent, session_id=session_id), file_path)
    if not default_storage.exists(name):
        raise NotFound("File not found.")
    try:
        is_directory = os.path.isdir(default_storage.path(name))
    except NotImplementedError:
        is_directory = False
    if is_directory:
        raise NotFound("File not found.")
    return name


def workspace_delete(*, agent: Agent, session_id: str | None, file_path: str) -> str:
    name = workspace_file(agent=agent, session_id=session_id, file_path=file_path)
    default_storage.delete(name)
    return file_path


def workspace_write(*, agent_id: str, session_id: str, file_path: str, content: str) -> str:
    """Write a text file into a session's workspace (replacing it); the relative path written."""
    if not session_id:
        raise Invalid("A workspace file needs a session.")
    name = _inside(_root(agent_id, session_id), file_path)
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(content.encode()))
    return file_path
