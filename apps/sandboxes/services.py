"""Every write and rule about sandboxes: limits, lifecycle, commands, files, sessions, previews."""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from apps.core.errors import Conflict, Invalid, NotFound, PayloadTooLarge, TooManyRequests
from apps.core.fetch import fetch_bytes, put_bytes
from apps.sandboxes import selectors
from apps.sandboxes.backends import ExecResult, Limits, OutputCallback, SandboxBackend, SandboxSpec, backend_get
from apps.sandboxes.files import Entry, split_path
from apps.sandboxes.models import Sandbox, SandboxCommand, SandboxLimit, SandboxSession
from apps.sandboxes.templates import template_get

logger = logging.getLogger(__name__)

PREVIEW_SALT = "sandboxes.preview"
PREVIEW_TOKEN_SECONDS = 3600
DEV_SERVER = "dev-server"
_SESSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_COMMAND_CHARS = 100_000


# -- limits -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UserLimits:
    max_alive: int
    disk_bytes: int
    cpu_seconds_per_hour: int


def user_limits(*, user) -> UserLimits:
    row = SandboxLimit.objects.filter(user=user).first()
    if row is not None:
        return UserLimits(row.max_alive, row.disk_bytes, row.cpu_seconds_per_hour)
    return UserLimits(settings.SANDBOX_MAX_PER_USER, settings.SANDBOX_DISK_BYTES, settings.SANDBOX_CPU_SECONDS_PER_HOUR)


def cpu_seconds_last_hour(*, user) -> float:
    since = timezone.now() - timedelta(hours=1)
    total = SandboxCommand.objects.filter(owner=user, created_at__gte=since).aggregate(total=Sum("cpu_seconds"))["total"]
    return float(total or 0.0)


# -- lifecycle --------------------------------------------------------------------------------------
def backend_for(sandbox: Sandbox) -> SandboxBackend:
    return backend_get(sandbox.backend)


def sandbox_spec(sandbox: Sandbox) -> SandboxSpec:
    root = Path(settings.SANDBOX_ROOT) / sandbox.public_id
    return SandboxSpec(
        key=sandbox.public_id,
        number=sandbox.pk,
        workspace=root / "workspace",
        state_dir=root / "state",
        template=template_get(sandbox.template),
        limits=Limits(
            cpu_seconds=sandbox.cpu_seconds,
            memory_bytes=sandbox.memory_bytes,
            disk_bytes=sandbox.disk_bytes,
            max_processes=sandbox.max_processes,
            max_open_files=settings.SANDBOX_MAX_OPEN_FILES,
            tmp_bytes=settings.SANDBOX_TMP_BYTES,
            output_bytes=settings.SANDBOX_OUTPUT_MAX_BYTES,
        ),
    )


def sandbox_create(*, user, template_id: str | None = None, project=None, strict_template: bool = False) -> Sandbox:
    template = template_get(template_id, strict=strict_template)
    limits = user_limits(user=user)
    with transaction.atomic():
        # Serialise one user's creations so two requests cannot both pass the alive-count check.
        type(user).objects.select_for_update().filter(pk=user.pk).first()
        alive = Sandbox.objects.filter(owner=user, status__in=Sandbox.ALIVE).count()
        if alive >= limits.max_alive:
            raise TooManyRequests(
                f"You already have {alive} sandbox(es) alive (the limit is {limits.max_alive}); delete one first.",
                code="sandbox_limit",
            )
        sandbox = Sandbox.objects.create(
            owner=user,
            project=project,
            template=template.name,
            backend=settings.SANDBOX_BACKEND,
            disk_bytes=limits.disk_bytes,
            memory_bytes=settings.SANDBOX_MEMORY_BYTES,
            cpu_seconds=settings.SANDBOX_CPU_SECONDS,
            max_processes=settings.SANDBOX_MAX_PROCESSES,
            idle_timeout_seconds=settings.SANDBOX_IDLE_SECONDS,
        )
    try:
        backend_for(sandbox).create(sandbox_spec(sandbox))
    except Exception as exc:
        Sandbox.objects.filter(pk=sandbox.pk).update(status=Sandbox.Status.FAILED, error=str(exc)[:2000])
        raise
    sandbox.status = Sandbox.Status.RUNNING
    sandbox.save(update_fields=["status"])
    return sandbox


def sandbox_use(*, sandbox: Sandbox) -> Sandbox:
    """Mark the sandbox used now; a paused one resumes. A finished one cannot be used (409)."""
    if not sandbox.is_alive:
        raise Conflict(f"The sandbox is {sandbox.status}; create a new one.", code="sandbox_not_running")
    if sandbox.status == Sandbox.Status.PAUSED:
        backend_for(sandbox).resume(sandbox_spec(sandbox), _session_pids(sandbox))
    sandbox.status = Sandbox.Status.RUNNING
    sandbox.last_used_at = timezone.now()
    sandbox.save(update_fields=["status", "last_used_at"])
    return sandbox


def sandbox_pause(*, sandbox: Sandbox) -> Sandbox:
    if not sandbox.is_alive:
        raise Conflict(f"The sandbox is {sandbox.status}.", code="sandbox_not_running")
    backend_for(sandbox).pause(sandbox_spec(sandbox), _session_pids(sandbox))
    sandbox.status = Sandbox.Status.PAUSED
    sandbox.save(update_fields=["status"])
    return sandbox


def sandbox_set_timeout(*, sandbox: Sandbox, seconds: int) -> Sandbox:
    if not sandbox.is_alive:
        raise Conflict(f"The sandbox is {sandbox.status}.", code="sandbox_not_running")
    sandbox.expires_at = timezone.now() + timedelta(seconds=seconds)
    sandbox.save(update_fields=["expires_at"])
    return sandbox


def sandbox_stop(*, sandbox: Sandbox, status: str, keep_files: bool) -> Sandbox:
    """End every process of the sandbox and release it (``expired`` or ``stopped``)."""
    backend_for(sandbox).destroy(sandbox_spec(sandbox), keep_files=keep_files)
    sandbox.sessions.filter(status=SandboxSession.Status.RUNNING).update(
        status=SandboxSession.Status.STOPPED, ended_at=timezone.now()
    )
    sandbox.status = status
    sandbox.save(update_fields=["status"])
    return sandbox


def sandbox_delete(*, sandbox: Sandbox) -> None:
    sandbox_stop(sandbox=sandbox, status=Sandbox.Status.STOPPED, keep_files=False)
    sandbox.delete()


def sandboxes_expire_idle() -> int:
    """Expire sandboxes idle past their timeout or past a scheduled one; returns how many."""
    now = timezone.now()
    expired = 0
    for sandbox in Sandbox.objects.filter(status__in=Sandbox.ALIVE).filter(Q(expires_at__lte=now) | Q(expires_at=None)):
        idle = now - sandbox.last_used_at > timedelta(seconds=sandbox.idle_timeout_seconds)
        scheduled = sandbox.expires_at is not None and sandbox.expires_at <= now
        if idle or scheduled:
            try:
                sandbox_stop(sandbox=sandbox, status=Sandbox.Status.EXPIRED, keep_files=settings.SANDBOX_KEEP_FILES_ON_EXPIRY)
                expired += 1
            except Exception:  # one broken sandbox must not stop the others from expiring
                logger.exception("could not expire sandbox %s", sandbox.public_id)
    return expired


def project_sandbox_ensure_active(*, user, project) -> tuple[Sandbox, bool]:
    """The project's alive sandbox (resumed if paused), or a new one; and whether it is new."""
    sandbox = selectors.project_sandbox(user=user, project=project)
    if sandbox is not None:
        return sandbox_use(sandbox=sandbox), False
    return sandbox_create(user=user, template_id="static", project=project), True


# -- commands ---------------------------------------------------------------------------------------
def sandbox_exec(
    *, sandbox: Sandbox, command: str, timeout: float | None = None, cwd: str = "", on_output: OutputCallback | None = None
) -> ExecResult:
    """Run a command to its end (or its timeout); ``on_output`` is handed its output while it runs."""
    if not command.strip():
        raise Invalid("The command is empty.", field_errors={"command": ["This field may not be blank."]})
    if len(command) > MAX_COMMAND_CHARS:
        raise PayloadTooLarge(f"The command is longer than {MAX_COMMAND_CHARS} characters.")
    cwd = "/".join(split_path(cwd, field="cwd")) if cwd else ""
    limits = user_limits(user=sandbox.owner)
    used = cpu_seconds_last_hour(user=sandbox.owner)
    if used >= limits.cpu_seconds_per_hour:
        raise TooManyRequests(
            f"Your sandboxes used {used:.0f} CPU seconds in the last hour (the limit is {limits.cpu_seconds_per_hour}).",
            code="sandbox_cpu_limit",
            retry_after=600,
        )
    sandbox_use(sandbox=sandbox)
    seconds = min(float(timeout or settings.SANDBOX_COMMAND_TIMEOUT), float(settings.SANDBOX_MAX_COMMAND_TIMEOUT))
    result = backend_for(sandbox).exec(sandbox_spec(sandbox), command, timeout=seconds, cwd=cwd, on_output=on_output)
    SandboxCommand.objects.create(
        sandbox=sandbox, owner=sandbox.owner, command=command[:5000], exit_code=result.exit_code,
        duration_seconds=result.duration, cpu_seconds=result.cpu_seconds, killed_reason=result.killed_reason,
    )
    return result


# -- files ------------------------------------------------------------------------------------------
def file_read(*, sandbox: Sandbox, path: str, max_bytes: int | None = None) -> bytes:
    sandbox_use(sandbox=sandbox)
    return backend_for(sandbox).read_file(sandbox_spec(sandbox), path, max_bytes=max_bytes or settings.SANDBOX_MAX_UPLOAD_BYTES)


def file_write(*, sandbox: Sandbox, path: str, data: bytes) -> int:
    if len(data) > settings.SANDBOX_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"Files are limited to {settings.SANDBOX_MAX_UPLOAD_BYTES} bytes.")
    sandbox_use(sandbox=sandbox)
    return backend_for(sandbox).write_file(sandbox_spec(sandbox), path, data)


def file_upload(*, sandbox: Sandbox, path: str, chunks: Iterator[bytes], size: int | None = None) -> int:
    """Store an uploaded file; past SANDBOX_MAX_UPLOAD_BYTES (or the disk left) it is a 413."""
    if size is not None and size > settings.SANDBOX_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"Uploads are limited to {settings.SANDBOX_MAX_UPLOAD_BYTES} bytes.")
    sandbox_use(sandbox=sandbox)
    backend = backend_for(sandbox)
    spec = sandbox_spec(sandbox)
    workspace = getattr(backend, "workspace", None)
    if workspace is None:
        return backend.write_file(spec, path, b"".join(chunks))
    return workspace(spec).write_stream(path, chunks, max_bytes=settings.SANDBOX_MAX_UPLOAD_BYTES)


def file_list(*, sandbox: Sandbox, path: str = "", recursive: bool = False) -> list[Entry]:
    sandbox_use(sandbox=sandbox)
    return backend_for(sandbox).list_files(sandbox_spec(sandbox), path, recursive=recursive)


def file_tree(*, sandbox: Sandbox, path: str = "") -> list[dict]:
    sandbox_use(sandbox=sandbox)
    backend = backend_for(sandbox)
    return backend.workspace(sandbox_spec(sandbox)).tree(path)


def file_delete(*, sandbox: Sandbox, path: str) -> None:
    sandbox_use(sandbox=sandbox)
    backend_for(sandbox).delete_path(sandbox_spec(sandbox), path)


def file_mkdir(*, sandbox: Sandbox, path: str) -> None:
    sandbox_use(sandbox=sandbox)
    backend_for(sandbox).make_dir(sandbox_spec(sandbox), path)


def file_archive(*, sandbox: Sandbox, path: str = "") -> Iterator[tuple[str, int]]:
    sandbox_use(sandbox=sandbox)
    return backend_for(sandbox).archive_files(sandbox_spec(sandbox), path)


def file_upload_from_url(*, sandbox: Sandbox, url: str, path: str) -> int:
    """Download ``url`` (through the SSRF-safe fetcher) into ``path``."""
    split_path(path, allow_root=False)
    limit = settings.SANDBOX_MAX_UPLOAD_BYTES
    result = asyncio.run(fetch_bytes(url, max_bytes=limit + 1))
    if result.status >= 400:
        raise Invalid(f"The URL answered HTTP {result.status}.", field_errors={"url": [f"HTTP {result.status}."]})
    if result.truncated or len(result.content) > limit:
        raise PayloadTooLarge(f"The file at the URL is larger than {limit} bytes.")
    return file_write(sandbox=sandbox, path=path, data=result.content)


def file_download_to_presigned(*, sandbox: Sandbox, path: str, url: str, content_type: str = "") -> int:
    """PUT the file at ``path`` to a presigned upload URL (through the same fetcher); returns its status."""
    data = file_read(sandbox=sandbox, path=path)
    result = asyncio.run(put_bytes(url, data, content_type=content_type or "application/octet-stream"))
    if result.status >= 400:
        raise Invalid(f"The upload URL answered HTTP {result.status}.", field_errors={"presigned_url": [f"HTTP {result.status}."]})
    return result.status


# -- sessions ---------------------------------------------------------------------------------------
def _session_pids(sandbox: Sandbox) -> list[int]:
    return [pid for pid in sandbox.sessions.filter(status=SandboxSession.Status.RUNNING).values_list("pid", flat=True) if pid]


def session_refresh(*, session: SandboxSession) -> SandboxSession:
    """Bring a running session's status up to date with its process."""
    if session.status != SandboxSession.Status.RUNNING:
        return session
    state = backend_for(session.sandbox).session_state(sandbox_spec(session.sandbox), session.name, session.pid)
    if not state.running:
        session.status = SandboxSession.Status.EXITED if state.exit_code is not None else SandboxSession.Status.STOPPED
        session.exit_code = state.exit_code
        session.ended_at = timezone.now()
        session.save(update_fields=["status", "exit_code", "ended_at"])
    return session


def session_start(*, sandbox: Sandbox, name: str, command: str, port: int | None = None) -> SandboxSession:
    if not _SESSION_NAME.match(name or ""):
        raise Invalid("Invalid session name.", field_errors={"name": ["Letters, digits, '-', '_' and '.'; up to 64."]})
    if not command.strip():
        raise Invalid("The command is empty.", field_errors={"command": ["This field may not be blank."]})
    sandbox_use(sandbox=sandbox)
    existing = sandbox.sessions.filter(name=name).first()
    if existing is not None:
        if session_refresh(session=existing).status == SandboxSession.Status.RUNNING:
            raise Conflict(f"The session {name!r} is already running.", code="session_running")
        existing.delete()
    try:
        with transaction.atomic():
            session = SandboxSession.objects.create(sandbox=sandbox, name=name, command=command, port=port)
    except IntegrityError as exc:
        raise Conflict(f"The session {name!r} is already running.", code="session_running") from exc
    session.pid = backend_for(sandbox).start_session(sandbox_spec(sandbox), name, command)
    session.save(update_fields=["pid"])
    if port and port not in sandbox.exposed_ports:
        sandbox.exposed_ports = [*sandbox.exposed_ports, port]
        sandbox.save(update_fields=["exposed_ports"])
    return session


def session_stop(*, session: SandboxSession) -> SandboxSession:
    backend_for(session.sandbox).stop_session(sandbox_spec(session.sandbox), session.name, session.pid)
    session.status = SandboxSession.Status.STOPPED
    session.ended_at = timezone.now()
    session.save(update_fields=["status", "ended_at"])
    return session


def session_log(*, session: SandboxSession, offset: int = 0, limit: int = 65536) -> bytes:
    return backend_for(session.sandbox).session_log(sandbox_spec(session.sandbox), session.name, offset, limit)


def running_sessions(*, sandbox: Sandbox) -> list[SandboxSession]:
    sessions = sandbox.sessions.filter(status=SandboxSession.Status.RUNNING)
    return [session for session in sessions if session_refresh(session=session).status == SandboxSession.Status.RUNNING]


# -- previews ---------------------------------------------------------------------------------------
def sandbox_expose_port(*, sandbox: Sandbox, port: int) -> Sandbox:
    sandbox_use(sandbox=sandbox)
    if port not in sandbox.exposed_ports:
        sandbox.exposed_ports = [*sandbox.exposed_ports, port]
        sandbox.save(update_fields=["exposed_ports"])
    return sandbox


def preview_ensure(*, sandbox: Sandbox, port: int | None = None) -> int:
    """The port to preview; with no session running, the template's preview server is started."""
    sandbox_use(sandbox=sandbox)
    running = running_sessions(sandbox=sandbox)
    if port is None:
        port = next((session.port for session in running if session.port), None) or (
            sandbox.exposed_ports[0] if sandbox.exposed_ports else sandbox_spec(sandbox).template.preview_port
        )
    if not running:
        template = sandbox_spec(sandbox).template
        session_start(sandbox=sandbox, name=DEV_SERVER, command=template.preview_command.format(port=port), port=port)
    return port


def preview_token(*, sandbox: Sandbox, port: int) -> str:
    return signing.dumps({"s": sandbox.public_id, "u": str(sandbox.owner_id), "p": port}, salt=PREVIEW_SALT, compress=True)


def preview_path(*, sandbox: Sandbox, port: int) -> str:
    return f"/preview/{sandbox.public_id}/{port}/{preview_token(sandbox=sandbox, port=port)}/"


def preview_check(*, token: str, sandbox_id: str, port: int) -> str:
    """The owner id a preview token was issued to for this sandbox and port; a bad or old token is a 404."""
    try:
        payload = signing.loads(token, salt=PREVIEW_SALT, max_age=PREVIEW_TOKEN_SECONDS)
    except signing.BadSignature as exc:
        raise NotFound("Preview not found.") from exc
    if not isinstance(payload, dict) or payload.get("s") != sandbox_id or payload.get("p") != port:
        raise NotFound("Preview not found.")
    return str(payload["u"])


def preview_sockets(*, sandbox: Sandbox) -> list[str]:
    """Where the platform can reach the sandbox's loopback ports: one relay per running session."""
    backend = backend_for(sandbox)
    spec = sandbox_spec(sandbox)
    return [backend.connect_port(spec, session.name) for session in running_sessions(sandbox=sandbox)]


def expo_session(*, sandbox: Sandbox) -> SandboxSession:
    for session in running_sessions(sandbox=sandbox):
        if "expo" in session.name.lower() or "expo" in session.command.lower():
            return session
    raise NotFound("No Expo dev server is running in this sandbox.")
