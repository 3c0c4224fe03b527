"""Optional backend: E2B cloud sandboxes (``SANDBOX_BACKEND=e2b`` with ``E2B_API_KEY``).

NOT TESTED HERE: there is no network to E2B from the development machine or CI. The ``e2b``
SDK (PyPI) is imported only when this backend is used and is not in requirements.txt: install
it yourself. Files live in the E2B sandbox, not on this host, and the isolation is E2B's.
"""
from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings

from apps.core.errors import NotFound, ServiceUnavailable
from apps.sandboxes.backends.base import ExecResult, OutputCallback, SandboxSpec, SessionState
from apps.sandboxes.files import Entry, split_path


class E2BBackend:
    name = "e2b"

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}

    def _sdk(self) -> Any:
        if not settings.E2B_API_KEY:
            raise ServiceUnavailable("The e2b backend needs E2B_API_KEY.")
        try:
            return importlib.import_module("e2b")
        except ImportError as exc:
            raise ServiceUnavailable("The e2b backend needs the e2b package (pip install e2b).") from exc

    def _sandbox(self, spec: SandboxSpec) -> Any:
        sdk = self._sdk()
        sandbox_id = self._ids.get(spec.key) or (spec.state_dir / "e2b-id").read_text().strip()
        return sdk.Sandbox.connect(sandbox_id, api_key=settings.E2B_API_KEY)

    @staticmethod
    def _path(path: str) -> str:
        return "/home/user/" + "/".join(split_path(path))

    def create(self, spec: SandboxSpec) -> None:
        sandbox = self._sdk().Sandbox.create(api_key=settings.E2B_API_KEY)
        spec.state_dir.mkdir(parents=True, exist_ok=True)
        (spec.state_dir / "e2b-id").write_text(sandbox.sandbox_id)
        self._ids[spec.key] = sandbox.sandbox_id

    def exec(
        self, spec: SandboxSpec, command: str, *, timeout: float, cwd: str = "", on_output: OutputCallback | None = None
    ) -> ExecResult:
        # The output arrives whole, when the command ends; nothing is passed on while it runs.
        started = time.monotonic()
        try:
            result = self._sandbox(spec).commands.run(command, timeout=timeout, cwd=self._path(cwd) if cwd else None)
        except Exception as exc:  # the SDK raises its own exception for a non-zero exit and a timeout
            if "timeout" in type(exc).__name__.lower():
                return ExecResult("", str(exc), None, time.monotonic() - started, timed_out=True, killed_reason="timeout")
            result = exc
        return ExecResult(getattr(result, "stdout", ""), getattr(result, "stderr", ""), getattr(result, "exit_code", None),
                          time.monotonic() - started)

    def start_session(self, spec: SandboxSpec, name: str, command: str) -> int:
        return int(self._sandbox(spec).commands.run(command, background=True).pid)

    def session_state(self, spec: SandboxSpec, name: str, pid: int | None) -> SessionState:
        running = any(getattr(item, "pid", None) == pid for item in self._sandbox(spec).commands.list())
        return SessionState(running, None)

    def stop_session(self, spec: SandboxSpec, name: str, pid: int | None) -> None:
        if pid:
            self._sandbox(spec).commands.kill(pid)

    def session_log(self, spec: SandboxSpec, name: str, offset: int = 0, limit: int = 65536) -> bytes:
        return b""

    def connect_port(self, spec: SandboxSpec, name: str) -> str:
        raise ServiceUnavailable("Previews through the platform are not available with the e2b backend.")

    def read_file(self, spec: SandboxSpec, path: str, *, max_bytes: int) -> bytes:
        data = self._sandbox(spec).files.read(self._path(path), format="bytes")
        return bytes(data)[:max_bytes]

    def write_file(self, spec: SandboxSpec, path: str, data: bytes) -> int:
        self._sandbox(spec).files.write(self._path(path), data)
        return len(data)

    def list_files(self, spec: SandboxSpec, path: str = "", *, recursive: bool = False) -> list[Entry]:
        items = self._sandbox(spec).files.list(self._path(path), depth=10 if recursive else 1)
        return [Entry(item.path.removeprefix("/home/user/"), item.name, "directory" if str(item.type).endswith("dir") else "file",
                      getattr(item, "size", 0) or 0, 0.0) for item in items]

    def delete_path(self, spec: SandboxSpec, path: str) -> None:
        self._sandbox(spec).files.remove(self._path(path))

    def make_dir(self, spec: SandboxSpec, path: str) -> None:
        self._sandbox(spec).files.make_dir(self._path(path))

    def archive_files(self, spec: SandboxSpec, path: str = "") -> Iterator[tuple[str, int]]:
        raise NotFound("Archives are not available with the e2b backend.")

    def pause(self, spec: SandboxSpec, pids: list[int]) -> None:
        self._sandbox(spec).beta_pause()

    def resume(self, spec: SandboxSpec, pids: list[int]) -> None:
        self._sandbox(spec)

    def destroy(self, spec: SandboxSpec, *, keep_files: bool) -> None:
        self._sandbox(spec).kill()
