"""The contract every sandbox backend meets; the services never know which one runs."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from apps.sandboxes.files import Entry
from apps.sandboxes.templates import Template


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int
    memory_bytes: int
    disk_bytes: int
    max_processes: int
    max_open_files: int
    tmp_bytes: int
    output_bytes: int


@dataclass(frozen=True)
class SandboxSpec:
    """What a backend needs to know about one sandbox."""

    key: str  # the public id
    number: int  # the database id: the host uid is derived from it
    workspace: Path
    state_dir: Path  # the platform's own files about the sandbox; never visible inside it
    template: Template
    limits: Limits


@dataclass
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int | None
    duration: float
    cpu_seconds: float = 0.0
    timed_out: bool = False
    #: Why the platform killed the command: "timeout", "disk", or "" when it ended by itself.
    killed_reason: str = ""
    truncated: bool = False
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SessionState:
    running: bool
    exit_code: int | None


#: Called with ``("stdout" | "stderr", text)`` while a command runs, as its output arrives.
OutputCallback = Callable[[str, str], None]


class SandboxBackend(Protocol):
    name: str

    def create(self, spec: SandboxSpec) -> None: ...
    def exec(
        self, spec: SandboxSpec, command: str, *, timeout: float, cwd: str = "", on_output: OutputCallback | None = None
    ) -> ExecResult: ...
    def start_session(self, spec: SandboxSpec, name: str, command: str) -> int: ...
    def session_state(self, spec: SandboxSpec, name: str, pid: int | None) -> SessionState: ...
    def stop_session(self, spec: SandboxSpec, name: str, pid: int | None) -> None: ...
    def session_log(self, spec: SandboxSpec, name: str, offset: int = 0, limit: int = 65536) -> bytes: ...
    def connect_port(self, spec: SandboxSpec, name: str) -> str: ...
    def read_file(self, spec: SandboxSpec, path: str, *, max_bytes: int) -> bytes: ...
    def write_file(self, spec: SandboxSpec, path: str, data: bytes) -> int: ...
    def list_files(self, spec: SandboxSpec, path: str = "", *, recursive: bool = False) -> list[Entry]: ...
    def delete_path(self, spec: SandboxSpec, path: str) -> None: ...
    def make_dir(self, spec: SandboxSpec, path: str) -> None: ...
    def archive_files(self, spec: SandboxSpec, path: str = "") -> Iterator[tuple[str, int]]: ...
    def pause(self, spec: SandboxSpec, pids: list[int]) -> None: ...
    def resume(self, spec: SandboxSpec, pids: list[int]) -> None: ...
    def destroy(self, spec: SandboxSpec, *, keep_files: bool) -> None: ...
