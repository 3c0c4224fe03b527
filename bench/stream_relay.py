"""Stream relay benchmark: what the platform adds on top of the upstream model's stream.

Starts the fake OpenAI-compatible upstream (apps/providers/testing.py) in a process
of its own, then the platform (one daphne, one Celery worker with a thread pool)
with that upstream as its default provider, on a database of its own. An aiohttp
client then measures, at 1, 50 and 200 concurrent streams, in the same run:

* the upstream read directly (POST /v1/chat/completions, SSE), and
* the same answer through the platform (POST /api/stream, NDJSON lines),

and prints time to first token (TTFT) and inter-token delay as added milliseconds
and ratios, the relayed token rate against the upstream's, CPU seconds per streamed
request (psutil on daphne + worker) and memory per open stream.

    .venv/bin/python bench/stream_relay.py [--levels 1,50,200] [--tokens 40] [--delay 0.02]

Targets (issue 3 §4): added TTFT p50 <= 5 ms with one stream; a burst of 200 streams
adds <= 250 ms at p50 with 0 errors; relayed token rate >= 95 % of upstream;
<= 10 ms of CPU per streamed request.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
QUEUE = f"bench-{os.getpid()}"
DATABASE = "codex_bench"

UPSTREAM = """
import sys, time
from apps.providers.testing import FakeLLMServer, Reply
words = int(sys.argv[1]); delay = float(sys.argv[2])
server = FakeLLMServer(default=Reply(text=" ".join(f"tok{i}" for i in range(words)), delay=delay)).start()
print(server.port, flush=True)
while True:
    time.sleep(3600)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:4]} exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def bench_database_url() -> str:
    """A database of the benchmark's own on the same server, migrated."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codex.settings")
    sys.path.insert(0, str(ROOT))
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from django.conf import settings

    parts = urlsplit(settings.DATABASE_URL)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return urlunsplit(parts._replace(path="/" + DATABASE))


@dataclass
class StreamResult:
    ttft: float | None = None
    gaps: list[float] = field(default_factory=list)
    tokens: int = 0
    duration: float = 0.0
    error: str = ""


async def read_upstream(session: aiohttp.ClientSession, base: str, prompt: str) -> StreamResult:
    result = StreamResult()
    started = time.perf_counter()
    last = None
    try:
        body = {"model": "fake-model", "stream": True, "messages": [{"role": "user", "content": prompt}]}
        async with session.post(f"{base}/chat/completions", json=body,
                                headers={"Authorization": "Bearer sk-bench"}) as response:
            async for raw in response.content:
                line = raw.decode().strip()
                if not line.startswith("data:") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[5:])
                delta = (chunk.get("choices") or [{}])[0].get("delta", {})
                if delta.get("content"):
                    now = time.perf_counter()
                    if last is None:
                        result.ttft = now - started
                    else:
                        result.gaps.append(now - last)
                    last = now
                    result.tokens += 1
    except Exception as exc:  # a benchmark counts failures instead of stopping
        result.error = repr(exc)
    result.duration = time.perf_counter() - started
    return result


async def read_platform(session: aiohttp.ClientSession, base: str, token: str, prompt: str) -> StreamResult:
    result = StreamResult()
    started = time.perf_counter()
    last = None
    ended = False
    try:
        body = {"messages": [{"role": "user", "content": prompt}]}
        async with session.post(f"{base}/api/web-stream", json=body,
                                headers={"Authorization": f"Bearer {token}"}) as response:
            if response.status != 200:
                result.error = f"HTTP {response.status}"
                return result
            async for raw in response.content:
                if not raw.strip():
                    continue
                line = json.loads(raw)
                if line.get("type") == "normal" and line.get("content"):
                    now = time.perf_counter()
                    if last is None:
                        result.ttft = now - started
                    else:
                        result.gaps.append(now - last)
                    last = now
                    result.tokens += 1
                elif line.get("type") == "error":
                    result.error = line.get("content", "error line")
                elif line.get("type") == "stream_end":
                    ended = True
                    if line.get("status") != "completed":
                        result.error = f"run {line.get('status')}"
        if not ended and not result.error:
            result.error = "stream ended without stream_end"
    except Exception as exc:
        result.error = repr(exc)
    result.duration = time.perf_counter() - started
    return result


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def rate(results: list[StreamResult]) -> float:
    """Tokens per second between first and last token, median over streams."""
    rates = [(r.tokens - 1) / sum(r.gaps) for r in results if r.gaps and sum(r.gaps) > 0]
    return p50(rates)


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        for each in [process, *process.children(recursive=True)]:
            try:
                times = each.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
    return total


def rss(processes: list[psutil.Process]) -> int:
    total = 0
    for process in processes:
        for each in [process, *process.children(recursive=True)]:
            try:
                total += each.memory_info().rss
            except psutil.NoSuchProcess:
                continue
    return total


async def level(concurrency: int, *, upstream: str, platform: str, token: str,
                servers: list[psutil.Process]) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        direct = await asyncio.gather(*[read_upstream(session, upstream, f"q{i}") for i in range(concurrency)])
        idle_rss = rss(servers)
        peak_rss = idle_rss
        cpu_before = cpu_seconds(servers)
        tasks = [asyncio.ensure_future(read_platform(session, platform, token, f"q{i}")) for i in range(concurrency)]
        while not all(task.done() for task in tasks):
            await asyncio.sleep(0.05)
            peak_rss = max(peak_rss, rss(servers))
        relayed = [task.result() for task in tasks]
        cpu_after = cpu_seconds(servers)
    direct_ttft = [r.ttft for r in direct if r.ttft is not None]
    relayed_ttft = [r.ttft for r in relayed if r.ttft is not None]
    direct_gap = [g for r in direct for g in r.gaps]
    relayed_gap = [g for r in relayed for g in r.gaps]
    return {
        "concurrency": concurrency,
        "errors": sum(1 for r in relayed if r.error),
        "error_samples": sorted({r.error for r in relayed if r.error})[:3],
        "direct_errors": sum(1 for r in direct if r.error),
        "ttft_direct_p50_ms": p50(direct_ttft) * 1000,
        "ttft_platform_p50_ms": p50(relayed_ttft) * 1000,
        "ttft_platform_p95_ms": p95(relayed_ttft) * 1000,
        "gap_direct_p50_ms": p50(direct_gap) * 1000,
        "gap_platform_p50_ms": p50(relayed_gap) * 1000,
        "gap_platform_p95_ms": p95(relayed_gap) * 1000,
        "rate_ratio": rate(relayed) / rate(direct) if direct else float("nan"),
        "cpu_ms_per_request": (cpu_after - cpu_before) * 1000 / concurrency,
        "rss_per_stream_kb": max(0, peak_rss - idle_rss) / 1024 / concurrency,
    }


def print_level(row: dict[str, Any]) -> None:
    added_ttft = row["ttft_platform_p50_ms"] - row["ttft_direct_p50_ms"]
    added_gap = row["gap_platform_p50_ms"] - row["gap_direct_p50_ms"]
    print(f"\n== {row['concurrency']} concurrent stream(s) ==")
    print(f"  errors (platform / direct)     {row['errors']} / {row['direct_errors']} {row['error_samples'] or ''}")
    print(f"  TTFT p50 direct / platform     {row['ttft_direct_p50_ms']:.1f} ms / {row['ttft_platform_p50_ms']:.1f} ms "
          f"(p95 {row['ttft_platform_p95_ms']:.1f} ms)")
    print(f"  added TTFT p50                 {added_ttft:+.1f} ms  (x{row['ttft_platform_p50_ms'] / row['ttft_direct_p50_ms']:.2f})")
    print(f"  inter-token p50 direct / plat. {row['gap_direct_p50_ms']:.2f} ms / {row['gap_platform_p50_ms']:.2f} ms "
          f"(added {added_gap:+.2f} ms, platform p95 {row['gap_platform_p95_ms']:.2f} ms)")
    print(f"  relayed token rate             {row['rate_ratio'] * 100:.1f} % of upstream")
    print(f"  CPU per streamed request       {row['cpu_ms_per_request']:.1f} ms (daphne + worker)")
    print(f"  memory per open stream         {row['rss_per_stream_kb']:.0f} KiB (peak RSS growth / streams)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,50,200")
    parser.add_argument("--tokens", type=int, default=40, help="tokens per upstream answer")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between upstream tokens")
    parser.add_argument("--worker-threads", type=int, default=256)
    parser.add_argument("--logs", default="", help="directory for daphne's and the worker's logs (default: discarded)")
    args = parser.parse_args()

    database_url = bench_database_url()
    env = {**os.environ, "DATABASE_URL": database_url, "CELERY_QUEUE": QUEUE, "PYTHONPATH": str(ROOT),
           "RUN_START_THROTTLE": "100000/min", "RUN_STREAM_THROTTLE": "100000/min", "LOG_LEVEL": "WARNING",
           # Pooled connections, as in production (README): a request or run borrows one, not opens one.
           "DATABASE_POOL_MAX_SIZE": os.environ.get("DATABASE_POOL_MAX_SIZE", "16")}
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)

    children: list[subprocess.Popen] = []
    try:
        upstream_proc = subprocess.Popen([PYTHON, "-c", UPSTREAM, str(args.tokens), str(args.delay)], cwd=ROOT,
                                         env=env, stdout=subprocess.PIPE, text=True)
        children.append(upstream_proc)
        upstream = f"http://127.0.0.1:{upstream_proc.stdout.readline().strip()}/v1"
        env.update({"LLM_BASE_URL": upstream, "LLM_API_KEY": "sk-bench", "LLM_MODEL": "fake-model"})

        logs = Path(args.logs) if args.logs else None
        if logs:
            logs.mkdir(parents=True, exist_ok=True)

        def log(name: str) -> Any:
            return open(logs / f"{name}.log", "w") if logs else subprocess.DEVNULL  # noqa: SIM115 (lives as long as the child)

        worker = subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "codex", "worker", "--pool=threads", f"--concurrency={args.worker_threads}",
             "-Q", QUEUE, "-n", f"{QUEUE}@%h", "--loglevel=WARNING", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log("worker"), stderr=subprocess.STDOUT,
        )
        children.append(worker)
        port = free_port()
        daphne = subprocess.Popen([PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "codex.asgi:application"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log("daphne"))
        children.append(daphne)
        wait_port(port, daphne)
        platform = f"http://127.0.0.1:{port}"

        import django
        from django.conf import settings

        settings.DATABASES["default"]["NAME"] = DATABASE  # before the first connection is made

        django.setup()
        from rest_framework_simplejwt.tokens import RefreshToken

        from apps.accounts.models import User

        user, _ = User.objects.get_or_create(username="bench", defaults={"email": "bench@example.com"})
        token = str(RefreshToken.for_user(user).access_token)
        servers = [psutil.Process(daphne.pid), psutil.Process(worker.pid)]

        print(f"upstream: {args.tokens} tokens, {args.delay * 1000:.0f} ms apart; platform: 1 daphne, "
              f"1 worker ({args.worker_threads} threads); {os.cpu_count()} CPU(s); pids daphne {daphne.pid}, "
              f"worker {worker.pid}", flush=True)
        # What the two processes burn doing nothing (pollers, heartbeats), to read the per-request figure against.
        idle_before, idle_started = cpu_seconds(servers), time.monotonic()
        time.sleep(3)
        idle_rate = (cpu_seconds(servers) - idle_before) / (time.monotonic() - idle_started)
        print(f"idle CPU (daphne + worker): {idle_rate * 1000:.1f} ms per second", flush=True)
        # Warm up: imports, the first database connections, the embedding model the runtime may load.
        warm = asyncio.run(level(2, upstream=upstream, platform=platform, token=token, servers=servers))
        if warm["errors"]:
            print("warm-up errors:", warm["error_samples"])
        for concurrency in [int(value) for value in args.levels.split(",")]:
            print_level(asyncio.run(level(concurrency, upstream=upstream, platform=platform, token=token,
                                          servers=servers)))
    finally:
        for child in reversed(children):
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    main()
