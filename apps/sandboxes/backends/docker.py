"""Optional backend: one Docker container per sandbox (``SANDBOX_BACKEND=docker``).

NOT TESTED HERE: the development machine and CI have no Docker daemon. It is written against
the same contract as bubblewrap, through the ``docker`` CLI (no Python dependency): the
workspace is the same host directory, bind-mounted; the container has ``--network none``,
a read-only root, a private /tmp, memory, pids and CPU limits, and runs as uid 1000.
"""
from __future__ import annotations

import shutil
import subprocess
import time

from django.conf import settings

from apps.core.errors import ServiceUnavailable
from apps.sandboxes.backends.base import ExecResult, OutputCallback, SandboxSpec, SessionState
from apps.sandboxes.backends.local import LocalFilesMixin


class DockerBackend(LocalFilesMixin):
    name = "docker"

    def _docker(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        docker = shutil.which("docker")
        if docker is None:
            raise ServiceUnavailable("The docker backend needs the docker CLI and a daemon.")
        return subprocess.run([docker, *args], capture_output=True, text=True, timeout=timeout)

    def _container(self, spec: SandboxSpec) -> str:
        return f"codex-{spec.key}"

    def create(self, spec: SandboxSpec) -> None:
        self._make_dirs(spec)
        limits = spec.limits
        result = self._docker(
            "run", "-d", "--name", self._container(spec), "--network", "none", "--read-only",
            "--tmpfs", f"/tmp:size={limits.tmp_bytes}", "--memory", str(limits.memory_bytes),
            "--pids-limit", str(limits.max_processes), "--cpus", "1", "--user", "1000:1000",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "-v", f"{spec.workspace}:/workspace", "-w", "/workspace",
            settings.SANDBOX_DOCKER_IMAGE, "sleep", "infinity",
        )
        if result.returncode != 0:
            raise ServiceUnavailable(f"docker run failed: {result.stderr.strip()[:200]}")

    def exec(
        self, spec: SandboxSpec, command: str, *, timeout: float, cwd: str = "", on_output: OutputCallback | None = None
    ) -> ExecResult:
        # The output arrives whole, when the command ends; nothing is passed on while it runs.
        started = time.monotonic()
        workdir = "/workspace/" + cwd.strip("/") if cwd.strip("/") else "/workspace"
        try:
            result = self._docker("exec", "-w", workdir, self._container(spec), "/bin/sh", "-c", command, timeout=timeout)
        except subprocess.TimeoutExpired:
            self._docker("restart", "-t", "0", self._container(spec))
            return ExecResult("", f"[killed: the command ran past its {timeout:g}s timeout]", None,
                              time.monotonic() - started, timed_out=True, killed_reason="timeout")
        limit = spec.limits.output_bytes
        return ExecResult(result.stdout[:limit], result.stderr[:limit], result.returncode, time.monotonic() - started,
                          truncated=len(result.stdout) > limit or len(result.stderr) > limit)

    def start_session(self, spec: SandboxSpec, name: str, command: str) -> int:
        log = f"/tmp/.session-{name}.log"
        self._docker("exec", "-d", self._container(spec), "/bin/sh", "-c", f"({command}) > {log} 2>&1")
        return 0

    def session_state(self, spec: SandboxSpec, name: str, pid: int | None) -> SessionState:
        result = self._docker("exec", self._container(spec), "/bin/sh", "-c", f"pgrep -f 'session-{name}.log'")
        return SessionState(result.returncode == 0, None)

    def stop_session(self, spec: SandboxSpec, name: str, pid: int | None) -> None:
        self._docker("exec", self._container(spec), "/bin/sh", "-c", f"pkill -f 'session-{name}.log'")

    def connect_port(self, spec: SandboxSpec, name: str) -> str:
        raise ServiceUnavailable("Previews are not available with the docker backend (the container has no network).")

    def pause(self, spec: SandboxSpec, pids: list[int]) -> None:
        self._docker("pause", self._container(spec))

    def resume(self, spec: SandboxSpec, pids: list[int]) -> None:
        self._docker("unpause", self._container(spec))

    def destroy(self, spec: SandboxSpec, *, keep_files: bool) -> None:
        self._docker("rm", "-f", self._container(spec))
        self._remove(spec, keep_files=keep_files)
