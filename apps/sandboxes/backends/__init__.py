"""Sandbox backends by name; ``SANDBOX_BACKEND`` picks the one new sandboxes use."""
from __future__ import annotations

from functools import cache

from apps.core.errors import ServiceUnavailable
from apps.sandboxes.backends.base import ExecResult, Limits, OutputCallback, SandboxBackend, SandboxSpec, SessionState
from apps.sandboxes.backends.bubblewrap import BubblewrapBackend
from apps.sandboxes.backends.docker import DockerBackend
from apps.sandboxes.backends.e2b import E2BBackend

__all__ = ["ExecResult", "Limits", "OutputCallback", "SandboxBackend", "SandboxSpec", "SessionState", "backend_get"]

BACKENDS: dict[str, type] = {"bubblewrap": BubblewrapBackend, "docker": DockerBackend, "e2b": E2BBackend}


@cache
def backend_get(name: str) -> SandboxBackend:
    backend = BACKENDS.get(name)
    if backend is None:
        raise ServiceUnavailable(f"Unknown sandbox backend {name!r}.")
    return backend()
