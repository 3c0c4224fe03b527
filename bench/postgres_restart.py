"""Fault: PostgreSQL stops under load and starts again; daphne is not restarted.

Starts an embedded PostgreSQL of its own in a temporary directory (never the shared
one), migrates it, and daphne (the ``web`` role of codex/launcher.py, with its
connection pool) on it. Client threads keep calling ``GET /api/projects`` (a database
read) as a signed-in user; after --before seconds PostgreSQL is stopped (fast
shutdown: connections are cut), and --down-for seconds later started again.

It prints the answers of each phase and checks, PASS or FAIL:

* while PostgreSQL is down, requests fail cleanly: 503 (with Retry-After), never a 500 (a request
  waits for a pooled connection up to the pool timeout, 10 s here, before it answers);
* no request hangs: the slowest answer stays under the pool timeout + 5 s;
* after the restart requests succeed again, without restarting daphne.

    .venv/bin/python bench/postgres_restart.py [--clients 8] [--before 5] [--down-for 10] [--after 20]
"""
from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from codex import embedded_db  # noqa: E402

PYTHON = sys.executable
POOL_TIMEOUT = 10.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def token_for(env: dict[str, str]) -> str:
    code = (
        "from rest_framework_simplejwt.tokens import RefreshToken\n"
        "from apps.accounts.models import User\n"
        "user, _ = User.objects.get_or_create(username='pgfault', defaults={'email': 'pgfault@example.com'})\n"
        "print(RefreshToken.for_user(user).access_token)\n"
    )
    done = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--before", type=float, default=5.0)
    parser.add_argument("--down-for", type=float, default=10.0)
    parser.add_argument("--after", type=float, default=20.0)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="pg-fault-"))
    base.chmod(0o755)  # the server runs as its own user when we are root
    pgdata = base / "postgres"
    embedded_db.start(pgdata)
    url = embedded_db.database_url(pgdata)
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING",
           "DATABASE_POOL_TIMEOUT": str(POOL_TIMEOUT)}
    daphne = None
    try:
        subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        token = token_for(env)
        os.environ.update({"DATABASE_URL": url})
        from codex import launcher

        launcher.command("web")  # sets Django up, whose logging would print every request of httpx
        import logging

        logging.getLogger("httpx").setLevel(logging.WARNING)

        port = free_port()
        daphne = subprocess.Popen(launcher.command("web", port=port), cwd=ROOT, env=launcher.environment("web") | env,
                                  stdout=subprocess.DEVNULL, stderr=open(base / "daphne.log", "w"))  # noqa: SIM115
        site = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{site}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)

        samples: list[tuple[float, int, float, str]] = []  # (sent at, status, seconds, Retry-After)
        lock = threading.Lock()
        stop = threading.Event()
        started = time.monotonic()

        def client() -> None:
            with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
                while not stop.is_set():
                    sent = time.monotonic()
                    try:
                        response = http.get(f"{site}/api/projects")
                        status, retry = response.status_code, response.headers.get("Retry-After", "")
                    except httpx.HTTPError:
                        status, retry = 0, ""
                    with lock:
                        samples.append((sent - started, status, time.monotonic() - sent, retry))
                    time.sleep(0.05)

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        time.sleep(args.before)
        down_at = time.monotonic() - started
        embedded_db.stop(pgdata)
        stopped_at = time.monotonic() - started
        time.sleep(args.down_for)
        start_at = time.monotonic() - started
        ready: list[float] = []

        def wait_ready() -> None:  # when PostgreSQL accepts connections again (start() returns later)
            import psycopg

            while not ready:
                try:
                    psycopg.connect(url, connect_timeout=1).close()
                    ready.append(time.monotonic() - started)
                except psycopg.Error:
                    time.sleep(0.05)

        watcher = threading.Thread(target=wait_ready)
        watcher.start()
        embedded_db.start(pgdata)
        watcher.join()
        up_at = ready[0]
        time.sleep(args.after)
        stop.set()
        for thread in threads:
            thread.join()

        def answered(low: float, high: float) -> list[tuple[float, int, float, str]]:
            return [s for s in samples if low <= s[0] + s[2] < high]

        # By when each request was answered: one sent just before the stop waits in the pool and
        # answers during the outage. "after restart" holds the requests sent once PostgreSQL accepts
        # connections again.
        before, down = answered(0, down_at), answered(stopped_at, up_at)
        after = [s for s in samples if s[0] >= up_at]
        for name, rows in (("before", before), ("down", down), ("after restart", after)):
            counts = collections.Counter(s[1] for s in rows)
            slowest = max((s[2] for s in rows), default=0.0)
            print(f"{name:14s} {len(rows):5d} requests  statuses {dict(sorted(counts.items()))}  slowest {slowest:.1f} s")
        first_ok = min((s[0] for s in after if s[1] == 200), default=None)
        recovered = f"{first_ok - up_at:.1f} s after the start" if first_ok is not None else "never"
        print(f"PostgreSQL stopped at {down_at:.1f}-{stopped_at:.1f} s, started at {start_at:.1f} s, accepting connections at"
              f" {up_at:.1f} s; first 200 sent after that: {recovered}")
        # Requests sent while PostgreSQL was down wait up to the pool timeout, so count answers, not sends.
        # Times are from the moment PostgreSQL accepts connections again.
        answered_ok = [s[0] + s[2] for s in samples if s[1] == 200 and s[0] + s[2] > up_at]
        first_answer = f"{min(answered_ok) - up_at:.1f} s" if answered_ok else "never"
        failing = [s[0] + s[2] for s in samples if s[1] != 200 and s[0] + s[2] > up_at]
        settled = f"{max(failing) - up_at:.1f} s" if failing else "none"
        print(f"after that: first 200 answered {first_answer} later, last non-200 answered: {settled}")
        tail = [s for s in after if s[0] > up_at + args.after / 2]
        results = {
            "no 500 at any time": not any(s[1] >= 500 and s[1] != 503 for s in samples),
            "while down: every answer 503 with Retry-After": bool(down) and all(s[1] == 503 and s[3] for s in down),
            f"no request took longer than {POOL_TIMEOUT + 5:.0f} s": max(s[2] for s in samples) <= POOL_TIMEOUT + 5,
            "after the restart: every request of the second half answered 200": bool(tail)
            and all(s[1] == 200 for s in tail),
        }
        for name, ok in results.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
        return 0 if all(results.values()) else 1
    finally:
        if daphne is not None:
            daphne.send_signal(signal.SIGTERM)
            try:
                daphne.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daphne.kill()
        embedded_db.stop(pgdata)


if __name__ == "__main__":
    sys.exit(main())
