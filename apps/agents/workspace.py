"""Agent workspaces: files an agent writes per session, on Django's default storage.

Layout: ``workspaces/<agent id>/<session id>/<path>``. Every path a client names is
checked to stay inside its workspace: no ``..``, no absolute path, no symlink out.

A session's workspace belongs to the user whose session (thread) it is: the agent's owner
cannot read a grantee's files, nor a grantee the owner's. Without a session, a listing
covers only the asking user's own sessions, with paths ``<session id>/<path>``.
"""
from __future__ import annotations

import os
import posixpath
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.agents.models import Agent
from apps.core.errors import Invalid, NotFound
from apps.core.sessions import session_titles

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


def _own_session(user: Any, agent: Agent, session_id: str) -> str:
    """The root of ``session_id``'s workspace when it is ``user``'s session; 404 otherwise."""
    root = workspace_root(agent=agent, session_id=session_id)
    if session_id not in session_titles(user=user, session_ids=[session_id], kinds=["thread"]):
        raise NotFound("Workspace not found.")
    return root


def _own_sessions(user: Any, agent: Agent) -> list[str]:
    try:
        directories, _ = default_storage.listdir(workspace_root(agent=agent, session_id=None))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(session_titles(user=user, session_ids=directories, kinds=["thread"]))


def _walk(root: str, prefix: str, files: list[WorkspaceFile]) -> None:
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
        _walk(root, f"{prefix}{directory}/", files)


def workspace_list(*, user: Any, agent: Agent, session_id: str | None) -> list[WorkspaceFile]:
    files: list[WorkspaceFile] = []
    if session_id:
        _walk(_own_session(user, agent, session_id), "", files)
        return files
    # No session named: every session of this user, never another user's.
    root = workspace_root(agent=agent, session_id=None)
    for session in _own_sessions(user, agent):
        _walk(root, f"{session}/", files)
    return files


def _split_session(session_id: str | None, file_path: str) -> tuple[str, str]:
    if session_id:
        return session_id, file_path
    session, _, relative = (file_path or "").partition("/")
    if not session or not relative:
        raise Invalid("Without session_id, file_path starts with the session id.",
                      field_errors={"file_path": ["<session id>/<path>, or pass session_id."]})
    return session, relative


def workspace_file(*, user: Any, agent: Agent, session_id: str | None, file_path: str) -> str:
    """The storage name of an existing workspace file of one of ``user``'s sessions."""
    session, relative = _split_session(session_id, file_path)
    root = workspace_root(agent=agent, session_id=session)
    name = _inside(root, relative)
    _own_session(user, agent, session)
    if not default_storage.exists(name):
        raise NotFound("File not found.")
    try:
        is_directory = os.path.isdir(default_storage.path(name))
    except NotImplementedError:
        is_directory = False
    if is_directory:
        raise NotFound("File not found.")
    return name


def workspace_delete(*, user: Any, agent: Agent, session_id: str | None, file_path: str) -> str:
    name = workspace_file(user=user, agent=agent, session_id=session_id, file_path=file_path)
    default_storage.delete(name)
    return file_path


def _delete_tree(name: str) -> None:
    try:
        path = default_storage.path(name)
    except NotImplementedError:
        # Object storage: no directories, only names under a prefix.
        directories, files = default_storage.listdir(name)
        for file in files:
            default_storage.delete(f"{name}/{file}")
        for directory in directories:
            _delete_tree(f"{name}/{directory}")
        return
    # rmtree works on directory descriptors and removes a symlink in the tree, never what it points to.
    shutil.rmtree(path, ignore_errors=True)


def workspace_session_delete(*, session_id: str) -> int:
    """Delete a session's workspace under every agent; the number of workspaces removed.

    A thread's id is unique across users, so these are the files of that one thread only.
    """
    if not _SESSION.match(session_id or "") or session_id in (".", ".."):
        return 0  # no workspace can have been written under such an id
    try:
        agents, _ = default_storage.listdir(ROOT)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    removed = 0
    for agent in agents:
        name = f"{ROOT}/{agent}/{session_id}"
        if default_storage.exists(name):
            _delete_tree(name)
            removed += 1
    return removed


def workspace_write(*, agent_id: str, session_id: str, file_path: str, content: str) -> str:
    """Write a text file into a session's workspace (replacing it); the relative path written."""
    if not session_id:
        raise Invalid("A workspace file needs a session.")
    name = _inside(_root(agent_id, session_id), file_path)
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(content.encode()))
    return file_path
