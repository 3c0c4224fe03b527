"""The platform's processes, written once.

``make run`` (scripts/run.sh), the container roles (scripts/docker-entrypoint.sh), the
end-to-end tests and bench/stream_relay.py all start these command lines with these
settings (docs/scaling.md):

* ``web``: ``WEB_PROCESSES`` daphnes on one port; every stream is a coroutine on one of their event loops.
  The supervisor binds the port once per daphne with ``SO_REUSEPORT`` and hands each its socket
  (``--fd``): the kernel spreads new connections over them, and a daphne that restarts finds its
  socket still open, its waiting connections queued in it.
* ``runs``: a Celery worker on ``CELERY_RUN_QUEUE`` with the thread pool, ``RUN_WORKER_CONCURRENCY``
  threads, each waiting on the worker's one run event loop, where the runs are coroutines.
* ``tasks``: a Celery worker on ``CELERY_QUEUE`` with the prefork pool, ``CELERY_CONCURRENCY``
  processes: ingestion, generation, scheduled tasks and the run reaper (CPU work, off the run loop).
* ``beat``: the schedules (exactly one per installation).

    python -m codex.launcher run [HOST] [PORT]   all four, supervised; prints the ready line once all answer
    python -m codex.launcher exec ROLE [HOST] [PORT]   become one role (the container's entrypoint);
                                                       ``web`` with WEB_PROCESSES > 1 supervises its daphnes

The supervisor itself never imports Django or Celery: a short-lived child (``prepare``) works out
the command lines, then waits until everything answers and exits, so the process that stays up for
the platform's whole life holds a few tens of MiB, not a Django process's ~180. That child holds
the embedded PostgreSQL (codex/embedded_db.py) until the roles do, so it is started once.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codex.settings")

ROLES = ("web", "runs", "tasks", "beat")
READY_TIMEOUT_SECONDS = 300
RESTART_DELAY_SECONDS = 1.0
#: The most health requests per daphne in one ready check. The kernel picks a daphne's socket per
#: connection (a hash of its addresses), so the check asks until each daphne's ``instance_id`` has
#: answered; a request that reaches a daphne not yet up waits in its socket until it is.
READY_PROBES_PER_WEB = 16
#: The listening sockets' backlog (the kernel caps it at net.core.somaxconn): a burst of a
#: thousand connections waits here, not refused.
LISTEN_BACKLOG = 1024


def _settings() -> Any:
    import django
    from django.conf import settings

    django.setup()
    return settings


def node_name(role: str) -> str:
    """The worker's Celery node name (``-n``), which the ready check pings."""
    settings = _settings()
    queue = settings.CELERY_RUN_QUEUE if role == "runs" else settings.CELERY_TASK_DEFAULT_QUEUE
    # A second worker of a role on one machine (docs/scaling.md) needs a name of its own.
    instance = os.environ.get("CODEX_INSTANCE_ID", "")
    return f"{queue}@{socket.gethostname()}{'-' + instance if instance else ''}"


def web_processes(host: str) -> int:
    """How many daphnes ``web`` starts: ``WEB_PROCESSES``; one without Redis (the process then keeps
    channels, cache and jobs in memory) or on an IPv6 address (daphne adopts only IPv4 sockets, ``--fd``)."""
    settings = _settings()
    return 1 if ":" in host or not settings.REDIS_AVAILABLE else max(1, settings.WEB_PROCESSES)


def command(role: str, *, host: str = "127.0.0.1", port: int = 8000, python: str = sys.executable,
            fd: int | str | None = None) -> list[str]:
    """``role``'s command line. ``fd``: daphne serves that inherited listening socket instead of
    binding ``host:port`` itself."""
    settings = _settings()
    log_level = os.environ.get("LOG_LEVEL", "INFO")
    # Gossip and mingle only share worker state we keep in Redis and PostgreSQL ourselves, and the
    # worker-heartbeat events feed only monitors (flower) we do not run: they cost CPU (a heartbeat
    # event opened a Redis client each time, a tenth of the run worker's CPU while it streamed).
    # Readiness is a ping, and runs keep heartbeats of their own (RUN_HEARTBEAT_SECONDS).
    quiet = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    if role == "web":
        # No --proxy-headers: it believes any client's X-Forwarded-For; apps.core.client_ip trusts TRUSTED_PROXIES only.
        where = ["--fd", str(fd)] if fd is not None else ["-b", host, "-p", str(port)]
        return [python, "-m", "daphne", *where, "codex.asgi:application"]
    if role == "runs":
        return [python, "-m", "celery", "-A", "codex", "worker", "--pool=threads",
                f"--concurrency={settings.RUN_WORKER_CONCURRENCY}", "-Q", settings.CELERY_RUN_QUEUE,
                "-n", node_name("runs"), f"--loglevel={log_level}", *quiet]
    if role == "tasks":
        return [python, "-m", "celery", "-A", "codex", "worker", "--pool=prefork",
                f"--concurrency={os.environ.get('CELERY_CONCURRENCY', '2')}", "-Q", settings.CELERY_TASK_DEFAULT_QUEUE,
                "-n", node_name("tasks"), f"--loglevel={log_level}", *quiet]
    if role == "beat":
        # Schedules live in the database (django-celery-beat): no schedule file, no pid file.
        return [python, "-m", "celery", "-A", "codex", "beat", f"--loglevel={log_level}", "--pidfile="]
    raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")


def environment(role: str) -> dict[str, str]:
    env = dict(os.environ)
    # glibc gives each thread that allocates an arena of its own (up to 8 per core); daphne's request
    # threads and the run worker's pool threads then each keep freed memory apart. Two arenas
    # hold the same work in less memory.
    env.setdefault("MALLOC_ARENA_MAX", "2")
    if role == "web":
        # A connection pool keeps a burst of requests from opening one PostgreSQL connection each.
        # Its minimum stays 2: a pool full from the start (16) made 1 000 stream starts slower
        # (bench/README.md, 2026-12-07).
        env.setdefault("DATABASE_POOL_MAX_SIZE", "16")
    return env


def roles() -> tuple[str, ...]:
    """What ``run`` starts: everything, or daphne alone when there is no Redis (jobs run in it)."""
    return ROLES if _settings().REDIS_AVAILABLE else ("web",)


def web_answers(url: str, *, web: int) -> set[str]:
    """The ``instance_id`` of each daphne that answered ``/api/health``, asking until all ``web`` have."""
    answered: set[str] = set()
    for _ in range(READY_PROBES_PER_WEB * web):
        with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
            answered.add(json.load(response)["instance_id"])
        if len(answered) >= web:
            break
    return answered


def is_ready(*, url: str, workers: list[str], web: int = 1) -> bool:
    """Each of the ``web`` daphnes answers ``/api/health`` and every worker answers a ping (it pings
    once warmed up)."""
    try:
        if len(web_answers(url, web=web)) < web:
            return False
    except (OSError, ValueError, KeyError):
        return False
    if not workers:
        return True
    from codex.celery import app

    answered = {name for reply in app.control.ping(destination=workers, timeout=1.0) for name in reply}
    return answered >= set(workers)


def warm_web(url: str, *, web: int = 1) -> None:
    """Unauthenticated chat requests (answered 401) load the whole request path in each daphne:
    middleware, DRF, authentication, the error edge, so the first user's chat does not (the kernel
    picks the daphne, so each of several is sent READY_PROBES_PER_WEB of them)."""
    for _ in range(1 if web == 1 else READY_PROBES_PER_WEB * web):
        request = urllib.request.Request(f"{url}/chat/stream", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json", "Accept": "text/event-stream"})
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except OSError:  # the expected 401 (an HTTPError) included
            pass


def plan(*, host: str, port: int, only: tuple[str, ...] = ROLES) -> dict[str, Any]:
    """What ``run`` starts: its roles, their command lines and the workers the ready check pings.

    With several daphnes, ``web``'s command line has ``{fd}`` where the supervisor puts each one's socket.
    """
    started = [role for role in roles() if role in only]
    web = web_processes(host) if "web" in started else 0
    return {
        "roles": started,
        "commands": {role: command(role, host=host, port=port, fd="{fd}" if role == "web" and web > 1 else None)
                     for role in started},
        "workers": [node_name(role) for role in started if role in ("runs", "tasks")],
        "web": web,
    }


def wait_ready(*, url: str, workers: list[str], web: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_ready(url=url, workers=workers, web=web):
            return True
        time.sleep(0.5)
    return False


def listen(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets listening on ``host:port`` together (``SO_REUSEPORT``), one per daphne.

    The port is first bound alone: ``SO_REUSEPORT`` would otherwise let this platform share a port
    that another one (a second ``make run``, say) already serves, instead of failing.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    sockets = []
    try:
        for _ in range(count):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(listener)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listener.bind((host, port))
            listener.listen(LISTEN_BACKLOG)
    except OSError:
        for listener in sockets:
            listener.close()
        raise
    return sockets


def _child(*args: str) -> list[str]:
    return [sys.executable, "-m", "codex.launcher", *args]


class Supervisor:
    """Starts the roles, restarts one that dies (as compose's restart policy does), stops all on a signal."""

    def __init__(self, *, host: str, port: int, only: tuple[str, ...] = ROLES) -> None:
        self.host, self.port, self.only = host, port, only
        self.children: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, list[str]] = {}
        #: Each daphne's listening socket, by its child's name (``web.1``, ``web.2``, ...), kept open
        #: here for the platform's whole life, so a restarted daphne serves the same one.
        self.sockets: dict[str, socket.socket] = {}
        self.waiter: subprocess.Popen | None = None
        self.stopping = False

    def start(self, name: str) -> None:
        role, _, number = name.partition(".")
        env, inherited = environment(role), ()
        if name in self.sockets:
            inherited = (self.sockets[name].fileno(),)
            # Each daphne answers /api/health with an instance_id of its own (random when none is set).
            if env.get("CODEX_INSTANCE_ID"):
                env["CODEX_INSTANCE_ID"] += f".{number}"
        self.children[name] = subprocess.Popen(self.commands[name], env=env, pass_fds=inherited)

    def split_web(self, template: list[str], count: int) -> list[str]:
        """One child per daphne, each with a listening socket of its own; their names."""
        names = [f"web.{number}" for number in range(1, count + 1)]
        for name, listener in zip(names, listen(self.host, self.port, count), strict=True):
            self.sockets[name] = listener
            self.commands[name] = [part.replace("{fd}", str(listener.fileno())) for part in template]
        return names

    def stop(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        url = f"http://{self.host}:{self.port}"
        self.waiter = subprocess.Popen(_child("prepare", self.host, str(self.port), ",".join(self.only)),
                                       stdout=subprocess.PIPE, text=True)
        line = self.waiter.stdout.readline()
        if not line:
            print("The platform's settings could not be loaded (see above).", file=sys.stderr, flush=True)
            return 1
        planned = json.loads(line)
        started, self.commands = planned["roles"], planned["commands"]
        if "runs" not in started and "runs" in self.only:
            print("Redis is not available: background jobs run inside the web process.", flush=True)
        if planned["web"] > 1:
            try:
                daphnes = self.split_web(self.commands.pop("web"), planned["web"])
            except OSError as exc:
                print(f"Cannot listen on {self.host}:{self.port}: {exc.strerror}.", file=sys.stderr, flush=True)
                return 1
            started = [*daphnes, *[role for role in started if role != "web"]]
        for name in started:
            self.start(name)
        ready = False
        try:
            while not self.stopping:
                if not ready and self.waiter.poll() is not None:
                    if self.waiter.returncode != 0:
                        print(f"The platform did not answer within {READY_TIMEOUT_SECONDS} s.", file=sys.stderr, flush=True)
                        return 1
                    ready = True
                    warm_web(url, web=planned["web"])
                    print(READY.format(url=url), flush=True)
                for role, child in list(self.children.items()):
                    if child.poll() is not None and not self.stopping:
                        print(f"{role} exited with code {child.returncode}; restarting it.", file=sys.stderr, flush=True)
                        time.sleep(RESTART_DELAY_SECONDS)
                        self.start(role)
                time.sleep(0.5)
            return 0
        finally:
            self.terminate()
            for listener in self.sockets.values():
                listener.close()

    def terminate(self) -> None:
        if self.waiter is not None and self.waiter.poll() is None:
            self.waiter.kill()
        for child in self.children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 20
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()


READY = """
CodexEngine is running:
  home page      {url}/
  admin console  {url}/admin/
  API docs       {url}/api/docs/
  deep health    {url}/api/health/deep
"""


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "run":
        host = argv[1] if len(argv) > 1 else "127.0.0.1"
        port = int(argv[2]) if len(argv) > 2 else 8000
        return Supervisor(host=host, port=port).run()
    if len(argv) == 4 and argv[0] == "prepare":
        # The plan is the first line on stdout (the supervisor's pipe); anything printed later goes to stderr.
        planned = plan(host=argv[1], port=int(argv[2]), only=tuple(argv[3].split(",")))
        print(json.dumps(planned), flush=True)
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        try:
            ready = wait_ready(url=f"http://{argv[1]}:{argv[2]}", workers=planned["workers"], web=planned["web"],
                               timeout=READY_TIMEOUT_SECONDS)
        except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the supervisor reports it
            return 130
        return 0 if ready else 1
    if len(argv) >= 2 and argv[0] == "exec" and argv[1] in ROLES:
        host = argv[2] if len(argv) > 2 else "0.0.0.0"  # noqa: S104 (a container listens on all interfaces)
        port = int(argv[3]) if len(argv) > 3 else int(os.environ.get("PORT", "8000"))
        if argv[1] == "web" and web_processes(host) > 1:
            # Several daphnes on one port need a parent that holds their sockets: the web role alone, supervised.
            return Supervisor(host=host, port=port, only=("web",)).run()
        args = command(argv[1], host=host, port=port)
        os.execve(args[0], args, environment(argv[1]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
