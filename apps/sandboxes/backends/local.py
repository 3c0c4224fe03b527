"""What backends whose workspace is a directory on this host share: the file operations."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from apps.sandboxes.backends.base import SandboxSpec
from apps.sandboxes.files import Entry, Workspace


def host_uid(spec: SandboxSpec) -> int | None:
    """The sandbox's own host uid when the platform may switch users (runs as root), else None."""
    if os.geteuid() != 0:
        return None
    return settings.SANDBOX_UID_BASE + spec.number % settings.SANDBOX_UID_RANGE


class LocalFilesMixin:
    def workspace(self, spec: SandboxSpec) -> Workspace:
        return Workspace(spec.workspace, uid=host_uid(spec), disk_bytes=spec.limits.disk_bytes)

    def _make_dirs(self, spec: SandboxSpec) -> None:
        spec.workspace.mkdir(parents=True, exist_ok=True)
        uid = host_uid(spec)
        if uid is not None:
            os.chown(spec.workspace, uid, uid)
        os.chmod(spec.workspace, 0o755)
        for directory in (spec.state_dir, spec.state_dir / "run", spec.state_dir / "sessions", spec.state_dir / "tmp"):
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)

    def read_file(self, spec: SandboxSpec, path: str, *, max_bytes: int) -> bytes:
        return self.workspace(spec).read(path, max_bytes=max_bytes)

    def write_file(self, spec: SandboxSpec, path: str, data: bytes) -> int:
        return self.workspace(spec).write(path, data)

    def list_files(self, spec: SandboxSpec, path: str = "", *, recursive: bool = False) -> list[Entry]:
        return self.workspace(spec).list(path, recursive=recursive)

    def delete_path(self, spec: SandboxSpec, path: str) -> None:
        self.workspace(spec).delete(path)

    def make_dir(self, spec: SandboxSpec, path: str) -> None:
        self.workspace(spec).mkdir(path)

    def archive_files(self, spec: SandboxSpec, path: str = "") -> Iterator[tuple[str, int]]:
        return self.workspace(spec).iter_files(path)

    def session_log(self, spec: SandboxSpec, name: str, offset: int = 0, limit: int = 65536) -> bytes:
        log = spec.state_dir / "sessions" / f"{name}.log"
        try:
            with open(log, "rb") as handle:
                handle.seek(offset)
                return handle.read(limit)
        except FileNotFoundError:
            return b""

    def _remove(self, spec: SandboxSpec, *, keep_files: bool) -> None:
        shutil.rmtree(spec.state_dir, ignore_errors=True)
        if not keep_files:
            shutil.rmtree(spec.workspace, ignore_errors=True)
            parent: Path = spec.workspace.parent
            if parent.exists() and not any(parent.iterdir()):
                parent.rmdir()
