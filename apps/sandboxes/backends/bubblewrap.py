"""The default backend: each command in fresh Linux namespaces through bubblewrap (``bwrap``).

Every command or session runs as::

    [sh joining the sandbox's cgroup] prlimit <rlimits> bwrap --unshare-all ... -- <command>

started as the sandbox's own unprivileged host uid (when the platform runs as root). Inside:
new user, PID, IPC, UTS, mount, cgroup and network namespaces; uid 1000; the host's ``/usr``
read-only, a generated minimal ``/etc`` read-only, a private size-bounded ``/tmp``, and the
workspace at ``/workspace`` as the only writable host directory. The network namespace has
only its own loopback, so nothing inside can reach the host or anything else. See
docs/sandboxes.md for what this does and does not protect against.
"""
from __future__ import annotations

import codecs
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from apps.core.errors import ServiceUnavailable
from apps.sandboxes.backends.base import ExecResult, OutputCallback, SandboxSpec, SessionState
from apps.sandboxes.backends.local import LocalFilesMixin, host_uid

RELAY = Path(__file__).resolve().parent.parent / "relay.py"
logger = logging.getLogger(__name__)

INSIDE_UID = 1000
INSIDE_PATH = "/usr/local/bin:/usr/bin:/bin"
#: Host files a program may need under /etc, bound read-only when they exist.
HOST_ETC = ("alternatives", "ld.so.cache", "localtime", "mime.types", "ssl")
ETC_FILES = {
    "passwd": f"root:x:0:0::/:/usr/sbin/nologin\nsandbox:x:{INSIDE_UID}:{INSIDE_UID}::/workspace:/bin/sh\n"
    "nobody:x:65534:65534::/:/usr/sbin/nologin\n",
    "group": f"root:x:0:\nsandbox:x:{INSIDE_UID}:\nnogroup:x:65534:\n",
    "hostname": "sandbox\n",
    "hosts": "127.0.0.1 localhost sandbox\n::1 localhost\n",
    "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
    "resolv.conf": "",
}


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def closed_parent(path: Path) -> Path | None:
    """The first directory above ``path`` (from ``/`` down) that other users cannot enter, or None.

    Run as root, bwrap and git run as the sandbox's own uid and must traverse every parent of the
    sandbox and deploy roots; a checkout under a private home (``/root``, mode 0700) would make
    every command fail with bwrap's "Can't find source path".
    """
    for directory in reversed(path.parents):
        if directory.exists() and not directory.stat().st_mode & 0o001:
            return directory
    return None


def _check_roots_traversable() -> None:
    for setting in ("SANDBOX_ROOT", "DEPLOY_ROOT"):
        closed = closed_parent(Path(getattr(settings, setting)))
        if closed is not None:
            logger.error("%s (%s) is inside %s, which the sandboxes' own uids cannot enter: set %s to a directory "
                         "outside it (such as /var/lib/codex/%s) or run `chmod o+x %s`.", setting,
                         getattr(settings, setting), closed, setting, Path(getattr(settings, setting)).name, closed)
            raise ServiceUnavailable(
                f"Sandboxes are not set up on this server: {setting} lies in a directory the sandboxes cannot "
                "enter. An administrator can see the server log for the fix."
            )


def _etc_dir() -> Path:
    """A generated, read-only-to-the-sandbox /etc with only what programs need."""
    root = Path(settings.SANDBOX_ROOT)
    etc = root / "_etc"
    etc.mkdir(parents=True, exist_ok=True)
    # bwrap runs as the sandbox's uid and must traverse these, whatever the process umask made them.
    os.chmod(root, 0o711)
    os.chmod(etc, 0o755)
    for name, content in ETC_FILES.items():
        path = etc / name
        if not path.exists() or path.read_text() != content:
            # Written beside and renamed: a command starting meanwhile never sees a half-written file.
            partial = etc / f".{name}.{os.getpid()}.{threading.get_ident()}"
            partial.write_text(content)
            os.chmod(partial, 0o644)
            os.replace(partial, path)
        elif path.stat().st_mode & 0o777 != 0o644:
            os.chmod(path, 0o644)
    return etc


def _root_links() -> list[str]:
    """/bin, /lib, ... as the host has them: links into /usr on a merged-/usr system, else read-only binds."""
    args: list[str] = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            args += ["--ro-bind", str(host), f"/{name}"]
    return args


def descendants(roots: list[int]) -> list[int]:
    """``roots`` and every process below them, from /proc (a sandbox's PID namespace lives there)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    stack = [pid for pid in roots if pid]
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


class Cgroup:
    """Per-sandbox memory, pids and cpuacct cgroups (cgroup v1), where the machine lets us make them.

    cpuacct is also how CPU time is counted: bwrap's outer process does not wait for the
    sandbox's init, so the CPU time of a command never reaches our ``wait4``.
    """

    def __init__(self, spec: SandboxSpec):
        self.spec = spec
        self.paths: list[Path] = []

    @staticmethod
    def _own(controller: str) -> Path | None:
        try:
            lines = Path("/proc/self/cgroup").read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(","):
                base = Path("/sys/fs/cgroup") / controller
                return base / path.lstrip("/")
        return None

    def prepare(self) -> list[Path]:
        """The ``cgroup.procs`` files a command should join; empty when cgroups are unavailable."""
        if not settings.SANDBOX_CGROUP or os.geteuid() != 0:
            return []
        procs: list[Path] = []
        limits = {
            "memory": {"memory.limit_in_bytes": self.spec.limits.memory_bytes},
            "pids": {"pids.max": self.spec.limits.max_processes},
            "cpuacct": {},
            "freezer": {},
        }
        for controller, values in limits.items():
            parent = self._own(controller)
            if parent is None or not parent.is_dir():
                continue
            group = parent / f"codex-{self.spec.key}"
            try:
                group.mkdir(exist_ok=True)
                for name, value in values.items():
                    (group / name).write_text(str(value))
                uid = host_uid(self.spec)
                if uid is not None:
                    os.chown(group / "cgroup.procs", uid, uid)
            except OSError:
                continue
            procs.append(group / "cgroup.procs")
            self.paths.append(group)
        return procs

    def cpu_seconds(self) -> float | None:
        """CPU time used by the sandbox so far, when it has a cpuacct cgroup."""
        parent = self._own("cpuacct")
        if parent is None:
            return None
        try:
            return int((parent / f"codex-{self.spec.key}" / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return None

    def freeze(self, frozen: bool) -> bool:
        """Freeze or thaw every process of the sandbox at once; False without a freezer cgroup."""
        parent = self._own("freezer")
        state = parent / f"codex-{self.spec.key}" / "freezer.state" if parent else None
        if state is None or not state.exists():
            return False
        wanted = "FROZEN" if frozen else "THAWED"
        try:
            state.write_text(wanted)
            # Freezing is asynchronous (FREEZING first): pause returns once every task is frozen.
            for _ in range(200):
                if state.read_text().strip() == wanted:
                    break
                time.sleep(0.01)
        except OSError:
            return False
        return True

    def remove(self) -> None:
        for controller in ("memory", "pids", "cpuacct", "freezer"):
            parent = self._own(controller)
            group = parent / f"codex-{self.spec.key}" if parent is not None else None
            # Killed tasks leave their cgroup a moment later: EBUSY until then.
            for _ in range(100):
                if group is None or not group.exists():
                    break
                try:
                    group.rmdir()
                except OSError:
                    time.sleep(0.01)


class BubblewrapBackend(LocalFilesMixin):
    name = "bubblewrap"
    DESTROY_WAIT_SECONDS = 5.0  # how long destroy waits for killed processes to be gone
    DESTROY_EMPTY_SCANS = 3  # "none left" must be seen this many times in a row, 20 ms apart

    # -- lifecycle --------------------------------------------------------------------------------
    def create(self, spec: SandboxSpec) -> None:
        if bwrap_path() is None:
            raise ServiceUnavailable("bubblewrap (bwrap) is not installed; run scripts/ensure-system.sh.")
        if host_uid(spec) is not None:
            _check_roots_traversable()
        self._make_dirs(spec)
        os.chmod(spec.workspace.parent, 0o711)

    def destroy(self, spec: SandboxSpec, *, keep_files: bool) -> None:
        Cgroup(spec).freeze(False)  # a frozen task does not die of SIGKILL until it is thawed
        # SIGKILL is delivered, not done: a killed bwrap stays listed until the kernel has torn its
        # namespaces down, and a session started a moment ago may only now have exec'd bwrap.
        # Kill again until none is left, for a bounded time.
        # A process between two execs (sh, prlimit, bwrap) or tearing down can read as no process
        # for a moment, so "none left" must hold for a few scans in a row (seen on a loaded machine).
        deadline = time.monotonic() + self.DESTROY_WAIT_SECONDS
        empty_scans = 0
        while empty_scans < self.DESTROY_EMPTY_SCANS:
            pids = self._session_pids(spec)
            empty_scans = 0 if pids else empty_scans + 1
            if pids:
                self._kill_tree(pids)
            if time.monotonic() > deadline:
                if pids:
                    logger.warning("sandbox %s: processes %s outlived SIGKILL", spec.key, pids)
                break
            time.sleep(0.02)
        Cgroup(spec).remove()
        self._remove(spec, keep_files=keep_files)

    def pause(self, spec: SandboxSpec, pids: list[int]) -> None:
        if not Cgroup(spec).freeze(True):
            # Without a freezer, stop the trees; a few passes catch processes forked meanwhile.
            for _ in range(3):
                self._signal_tree(pids, signal.SIGSTOP)

    def resume(self, spec: SandboxSpec, pids: list[int]) -> None:
        if not Cgroup(spec).freeze(False):
            self._signal_tree(pids, signal.SIGCONT)

    # -- the command line -------------------------------------------------------------------------
    def argv(self, spec: SandboxSpec, command: list[str], *, cwd: str = "", cpu_seconds: int | None = None) -> list[str]:
        limits = spec.limits
        memory = limits.memory_bytes * spec.template.address_space_factor
        bwrap = bwrap_path()
        if bwrap is None:
            raise ServiceUnavailable("bubblewrap (bwrap) is not installed; run scripts/ensure-system.sh.")
        etc = _etc_dir()
        args = [
            "/usr/bin/prlimit",
            f"--cpu={cpu_seconds or limits.cpu_seconds}",
            f"--as={memory}",
            f"--fsize={limits.disk_bytes}",
            f"--nofile={limits.max_open_files}",
            f"--nproc={limits.max_processes}",
            "--core=0",
            "--",
            bwrap,
            "--unshare-all",  # user, ipc, pid, net, uts, cgroup: the network namespace has only loopback
            "--unshare-user",
            "--disable-userns",  # no nested namespaces from inside
            "--die-with-parent",
            "--new-session",  # no terminal to inject keystrokes into (TIOCSTI)
            "--uid", str(INSIDE_UID), "--gid", str(INSIDE_UID),
            "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr",
            *_root_links(),
            "--proc", "/proc",
            "--dev", "/dev",
            "--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm",
            "--remount-ro", "/dev",  # a tmpfs too: writable, it would be memory without a bound
            "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp",
            "--tmpfs", "/etc",
        ]
        for name in ETC_FILES:
            args += ["--ro-bind", str(etc / name), f"/etc/{name}"]
        for name in HOST_ETC:
            if os.path.exists(f"/etc/{name}"):
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        args += [
            "--remount-ro", "/etc",
            "--bind", str(spec.workspace), "/workspace",
            "--ro-bind", str(RELAY), "/opt/codex/relay.py",
            # bwrap's root is a tmpfs: read-only, so nothing can fill memory through it.
            "--remount-ro", "/",
            "--chdir", "/workspace/" + cwd.strip("/") if cwd.strip("/") else "/workspace",
            "--clearenv",
            "--setenv", "PATH", INSIDE_PATH,
            "--setenv", "HOME", "/workspace",
            "--setenv", "USER", "sandbox",
            "--setenv", "LANG", "C.UTF-8",
            "--setenv", "TMPDIR", "/tmp",
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
            "--",
            *command,
        ]
        return args

    def _popen(self, spec: SandboxSpec, argv: list[str], **kwargs) -> subprocess.Popen:
        uid = host_uid(spec)
        procs = Cgroup(spec).prepare()
        if procs:
            # Join the cgroup from inside the new process, before anything of the sandbox runs.
            joins = "; ".join(f"echo $$ > {path}" for path in procs)
            argv = ["/bin/sh", "-c", f'{joins}; exec "$@"', "sh", *argv]
        identity = {"user": uid, "group": uid, "extra_groups": []} if uid is not None else {}
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, env={"PATH": INSIDE_PATH}, start_new_session=True, cwd="/", **identity, **kwargs
        )

    # -- commands ---------------------------------------------------------------------------------
    def exec(
        self, spec: SandboxSpec, command: str, *, timeout: float, cwd: str = "", on_output: OutputCallback | None = None
    ) -> ExecResult:
        argv = self.argv(spec, ["/bin/sh", "-c", command], cwd=cwd)
        tmp = spec.state_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        cgroup = Cgroup(spec)
        cpu_before = cgroup.cpu_seconds()
        with open(tmp / f"out-{threading.get_ident()}", "w+b") as out, open(tmp / f"err-{threading.get_ident()}", "w+b") as err:
            os.unlink(out.name)
            os.unlink(err.name)
            process = self._popen(spec, argv, stdout=out, stderr=err)
            pump = _OutputPump({"stdout": out, "stderr": err}, spec.limits.output_bytes, on_output) if on_output else None
            exit_code, cpu, reason = self._wait(spec, process, started + timeout, pump)
            duration = time.monotonic() - started
            cpu_after = cgroup.cpu_seconds()
            if cpu_after is not None:
                cpu = max(cpu, cpu_after - (cpu_before or 0.0))
            stdout, cut_out = _read_capped(out, spec.limits.output_bytes)
            stderr, cut_err = _read_capped(err, spec.limits.output_bytes)
        if reason == "timeout":
            stderr += f"\n[killed: the command ran past its {timeout:g}s timeout]"
        elif reason == "disk":
            stderr += f"\n[killed: the sandbox went past its disk limit of {spec.limits.disk_bytes} bytes]"
        return ExecResult(
            stdout=stdout, stderr=stderr, exit_code=exit_code, duration=duration, cpu_seconds=cpu,
            timed_out=reason == "timeout", killed_reason=reason, truncated=cut_out or cut_err,
        )

    def _wait(
        self, spec: SandboxSpec, process: subprocess.Popen, deadline: float, pump: _OutputPump | None = None
    ) -> tuple[int | None, float, str]:
        """Wait for the command (passing its output on as it comes, with a pump); kill its whole
        process group past the deadline or the disk limit."""
        workspace = self.workspace(spec)
        try:
            return self._wait_loop(process, deadline, workspace, spec.limits.disk_bytes, pump)
        finally:
            if pump is not None:
                pump.drain()

    def _wait_loop(
        self, process: subprocess.Popen, deadline: float, workspace, disk_bytes: int, pump: _OutputPump | None
    ) -> tuple[int | None, float, str]:
        pause, next_disk_check, reason = 0.005, time.monotonic() + 1.0, ""
        while True:
            if pump is not None and pump.flush(now=time.monotonic()):
                pause = 0.005  # output is coming: look again soon
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                break
            now = time.monotonic()
            if now >= deadline:
                reason = "timeout"
            elif now >= next_disk_check:
                next_disk_check = now + 1.0
                if workspace.usage() > disk_bytes:
                    reason = "disk"
            if reason:
                # bwrap dies with its group; --die-with-parent and the PID namespace take every process inside along.
                _killpg(process.pid)
                _, status, usage = os.wait4(process.pid, 0)
                process.returncode = os.waitstatus_to_exitcode(status)
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
        exit_code = process.returncode
        if exit_code is not None and exit_code < 0:
            exit_code = 128 - exit_code
        return (None if reason else exit_code), usage.ru_utime + usage.ru_stime, reason

    # -- sessions ---------------------------------------------------------------------------------
    def _socket_path(self, spec: SandboxSpec, name: str) -> Path:
        return spec.state_dir / "run" / f"{name}.sock"

    def start_session(self, spec: SandboxSpec, name: str, command: str) -> int:
        self._make_dirs(spec)
        path = self._socket_path(spec, name)
        path.unlink(missing_ok=True)
        (spec.state_dir / "sessions" / f"{name}.exit").unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with short_unix_path(path) as short:
            listener.bind(short)
        os.chmod(path, 0o600)
        listener.listen(64)
        fd = listener.fileno()
        argv = self.argv(
            spec,
            ["/usr/bin/python3", "-I", "-S", "/opt/codex/relay.py", str(fd), "--", "/bin/sh", "-c", command],
            cpu_seconds=settings.SANDBOX_SESSION_CPU_SECONDS,
        )
        started: dict[str, object] = {}
        ready = threading.Event()

        def run() -> None:
            # The session is spawned by the thread that waits for it: bwrap's --die-with-parent is
            # tied to the thread that forked it, so that thread must live as long as the session.
            log = open(spec.state_dir / "sessions" / f"{name}.log", "ab")
            try:
                process = self._popen(spec, argv, stdout=log, stderr=subprocess.STDOUT, pass_fds=[fd])
            except Exception as exc:  # noqa: BLE001 — handed to the caller below
                started["error"] = exc
                ready.set()
                log.close()
                return
            started["pid"] = process.pid
            # Until the wrapper has exec'd bwrap it is not in the sandbox's cgroups yet (pause would miss it).
            for _ in range(500):
                if _is_bwrap(process.pid) or process.poll() is not None:
                    break
                time.sleep(0.002)
            ready.set()
            code = process.wait()
            log.close()
            code = 128 - code if code < 0 else code
            (spec.state_dir / "sessions" / f"{name}.exit").write_text(str(code))

        threading.Thread(target=run, name=f"sandbox-session-{spec.key}-{name}", daemon=True).start()
        ready.wait()
        listener.close()
        if "error" in started:
            raise started["error"]  # type: ignore[misc]
        return int(started["pid"])  # type: ignore[arg-type]

    def session_state(self, spec: SandboxSpec, name: str, pid: int | None) -> SessionState:
        exit_file = spec.state_dir / "sessions" / f"{name}.exit"
        if exit_file.exists():
            text = exit_file.read_text().strip()
            return SessionState(False, int(text) if text.lstrip("-").isdigit() else None)
        if pid and _is_bwrap(pid):
            return SessionState(True, None)
        return SessionState(False, None)

    def stop_session(self, spec: SandboxSpec, name: str, pid: int | None) -> None:
        if pid and _is_bwrap(pid):
            self._kill_tree([pid])

    def connect_port(self, spec: SandboxSpec, name: str) -> str:
        return str(self._socket_path(spec, name))

    def _session_pids(self, spec: SandboxSpec) -> list[int]:
        marker = str(spec.workspace).encode()
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and _is_bwrap(int(entry), marker):
                pids.append(int(entry))
        return pids

    def _signal_tree(self, pids: list[int], sig: signal.Signals) -> None:
        for pid in descendants([pid for pid in pids if _is_bwrap(pid)]):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue

    def _kill_tree(self, pids: list[int]) -> None:
        live = [pid for pid in pids if _is_bwrap(pid)]
        for pid in live:
            _killpg(pid)
        self._signal_tree(live, signal.SIGKILL)


@contextmanager
def short_unix_path(path: Path) -> Iterator[str]:
    """``path`` reached through a directory descriptor: Unix socket paths are limited to 107 bytes."""
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{dir_fd}/{path.name}"
    finally:
        os.close(dir_fd)


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _is_bwrap(pid: int, marker: bytes = b"") -> bool:
    """Whether ``pid`` is still one of our bwrap processes (a recycled pid is not)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read()
    except OSError:
        return False
    return b"bwrap\x00--unshare-all" in cmdline and marker in cmdline


class _OutputPump:
    """Passes a running command's new output on, from the files it writes to, up to ``limit`` bytes a stream."""

    INTERVAL = 0.1  # at most ten pieces a second while the command runs

    def __init__(self, handles: dict, limit: int, callback: OutputCallback) -> None:
        self.handles, self.limit = handles, limit
        self.callback: OutputCallback | None = callback
        self.offsets = dict.fromkeys(handles, 0)
        self.decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in handles}
        self.next_at = 0.0

    def flush(self, *, final: bool = False, now: float | None = None) -> bool:
        """Pass on what was written since the last call; whether there was any."""
        if now is not None:
            if now < self.next_at:
                return False
            self.next_at = now + self.INTERVAL
        sent = False
        for name, handle in self.handles.items():
            wanted = self.limit - self.offsets[name]
            data = os.pread(handle.fileno(), min(wanted, 65536), self.offsets[name]) if wanted > 0 else b""
            self.offsets[name] += len(data)
            text = self.decoders[name].decode(data, final=final)
            if text and self.callback is not None:
                try:
                    self.callback(name, text)
                except Exception:
                    # The command must still be waited for (and killed at its deadline): stop passing output on.
                    logger.exception("passing a command's output on failed")
                    self.callback = None
                sent = True
        return sent

    def drain(self) -> None:
        """Pass on what is left once the command ended (or was killed)."""
        while self.flush():
            pass
        self.flush(final=True)


def _read_capped(handle, limit: int) -> tuple[str, bool]:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    data = handle.read(limit)
    return data.decode("utf-8", "replace"), size > limit
