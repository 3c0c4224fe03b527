"""Fault: kill -9 of Redis in the middle of a live ``/api/web-stream``, and Redis back some seconds later.

Starts a redis-server of its own on a free port (never the shared one), the fake
OpenAI-compatible upstream with a slow answer, and the platform's ``runs`` worker and
``web`` daphne (codex/launcher.py command lines) on that Redis and a database of the
benchmark's own. A client opens one web-stream; after --kill-after seconds Redis is
killed with SIGKILL, and --down-for seconds later started again (empty: no persistence).

It checks, and prints PASS or FAIL for each:

* the open stream goes on to its ``stream_end`` (or ends with an error line), never freezes;
* heartbeats keep coming while Redis is down (the longest silence is printed);
* the message indices are 0..N-1, none lost, none repeated;
* a replay from PostgreSQL (``/api/stream/resume``) is the same lines.

    .venv/bin/python bench/redis_fault.py [--words 200] [--delay 0.05] [--kill-after 3] [--down-for 8]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stream_relay import DATABASE, PYTHON, ROOT, UPSTREAM, bench_database_url, free_port, wait_port  # noqa: E402

SESSION = f"fault-{os.getpid()}-{int(time.time())}"


def start_redis(port: int, workdir: str) -> subprocess.Popen:
    redis = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_port(port, redis)
    return redis


def read_stream(url: str, token: str, out: dict[str, Any]) -> None:
    """Read one web-stream to its end; every line with the time it came."""
    started = time.monotonic()
    out["lines"], out["beats"] = [], []
    try:
        with httpx.Client(timeout=httpx.Timeout(60, read=40)) as http, http.stream(
            "POST", f"{url}/api/web-stream", headers={"Authorization": f"Bearer {token}"},
            json={"messages": [{"role": "user", "content": "Tell me a long story."}], "session_id": SESSION},
        ) as response:
            out["status"] = response.status_code
            for raw in response.iter_lines():
                if not raw.strip():
                    continue
                line = json.loads(raw)
                now = time.monotonic() - started
                if line.get("type") == "heartbeat":
                    out["beats"].append(now)
                    continue
                out["lines"].append((now, line))
                if line.get("type") == "stream_end":
                    break
    except Exception as exc:  # the point is to see how the stream ends
        out["error"] = repr(exc)
    finally:
        out["duration"] = time.monotonic() - started


def read_replay(url: str, token: str, out: dict[str, Any]) -> None:
    out["lines"] = []
    with httpx.Client(timeout=httpx.Timeout(30, read=30)) as http, http.stream(
        "GET", f"{url}/api/stream/resume/{SESSION}?last_index=0", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        for raw in response.iter_lines():
            if raw.strip() and json.loads(raw).get("type") != "heartbeat":
                out["lines"].append(json.loads(raw))
                if out["lines"][-1].get("type") == "stream_end":
                    return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--kill-after", type=float, default=3.0, help="seconds after the first answer token")
    parser.add_argument("--down-for", type=float, default=8.0)
    args = parser.parse_args()

    redis_port = free_port()
    workdir = tempfile.mkdtemp(prefix="redis-fault-")
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    children: list[subprocess.Popen] = []
    redis = start_redis(redis_port, workdir)
    try:
        database_url = bench_database_url()
        # Its own Redis: the default queue names are private to this run.
        env = {**os.environ, "DATABASE_URL": database_url,
               "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING", "RUN_START_THROTTLE": "1000/min",
               "RUN_STREAM_THROTTLE": "1000/min"}
        subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        upstream = subprocess.Popen([PYTHON, "-c", UPSTREAM, str(args.words), str(args.delay), "0"], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, text=True)
        children.append(upstream)
        env.update({"LLM_BASE_URL": f"http://127.0.0.1:{upstream.stdout.readline().strip()}/v1",
                    "LLM_API_KEY": "sk-bench", "LLM_MODEL": "fake-model"})
        os.environ.update(env)
        from codex import launcher

        port = free_port()
        logs = Path(workdir)
        for role in ("runs", "web"):
            children.append(subprocess.Popen(launcher.command(role, port=port), cwd=ROOT, env=env,
                                             stdout=open(logs / f"{role}.log", "w"), stderr=subprocess.STDOUT))  # noqa: SIM115
        wait_port(port, children[-1], timeout=120)
        url = f"http://127.0.0.1:{port}"
        while not launcher.is_ready(url=url, workers=[launcher.node_name("runs")]):
            time.sleep(0.5)

        from django.conf import settings

        settings.DATABASES["default"]["NAME"] = DATABASE
        from rest_framework_simplejwt.tokens import RefreshToken

        from apps.accounts.models import User

        user, _ = User.objects.get_or_create(username="fault", defaults={"email": "fault@example.com"})
        token = str(RefreshToken.for_user(user).access_token)

        out: dict[str, Any] = {}
        reader = threading.Thread(target=read_stream, args=(url, token, out))
        started = time.monotonic()
        reader.start()
        while reader.is_alive() and not any(line.get("type") == "normal" for _, line in out.get("lines", [])):
            time.sleep(0.05)
        time.sleep(args.kill_after)
        redis.send_signal(signal.SIGKILL)
        redis.wait()
        killed_at = time.monotonic() - started
        lines_at_kill = len(out.get("lines", []))
        time.sleep(args.down_for)
        redis = start_redis(redis_port, workdir)
        back_at = time.monotonic() - started
        reader.join(timeout=120)

        lines = [line for _, line in out.get("lines", [])]
        messages = [line for line in lines if line.get("type") != "stream_end"]
        indices = [line.get("metadata", {}).get("index") for line in messages]
        ended = bool(lines) and lines[-1].get("type") == "stream_end"
        during = [t for t in out.get("beats", []) if killed_at <= t <= back_at]
        arrivals = sorted([t for t, _ in out.get("lines", [])] + out.get("beats", []))
        silence = max((b - a for a, b in zip(arrivals, arrivals[1:], strict=False)), default=0.0)
        print(f"lines at kill {lines_at_kill}; last lines: {[line.get('type') for line in lines[-3:]]}; "
              f"indices {indices[:3]}...{indices[-3:]}", flush=True)
        replay_out: dict[str, Any] = {}
        replay_reader = threading.Thread(target=read_replay, args=(url, token, replay_out), daemon=True)
        replay_reader.start()
        replay_reader.join(timeout=60)
        replay = replay_out.get("lines", [])
        print(f"Redis killed at {killed_at:.1f} s (after {lines_at_kill} lines), back at {back_at:.1f} s; "
              f"stream lasted {out.get('duration', 0):.1f} s, {len(lines)} lines, status {out.get('status')}"
              f"{', client error ' + out['error'] if out.get('error') else ''}")
        print(f"heartbeats while Redis was down: {len(during)}; longest silence on the stream: {silence:.1f} s")
        results = {
            "the stream reached stream_end": ended and lines[-1].get("status") == "completed",
            "indices 0..N-1, none lost or repeated": indices == list(range(len(indices))) and len(indices) > lines_at_kill,
            "no silence longer than the heartbeat interval + 5 s": silence <= 20.0,
            "the replay from PostgreSQL is the same lines": replay == lines,
        }
        for name, ok in results.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
        if not all(results.values()):
            keep = Path(tempfile.mkdtemp(prefix="redis-fault-logs-"))
            for log in logs.glob("*.log"):
                shutil.copy(log, keep)
            print(f"logs of the web and runs processes: {keep}")
        return 0 if all(results.values()) else 1
    finally:
        for child in reversed(children):
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        redis.kill()
        redis.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
