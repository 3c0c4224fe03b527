"""Stream relay benchmark: what the platform adds on top of the upstream model's stream.

Starts the fake OpenAI-compatible upstream (apps/providers/testing.py) in a process of its
own, then the platform exactly as ``make run`` does: ``scripts/run.sh`` itself (daphne, the
run worker with its thread pool, the task worker, beat: codex/launcher.py's command lines and
settings), on a database of its own, with that upstream as its default model and only the
per-user run throttles raised (one client opens every stream). An aiohttp client then
measures, at each concurrency level and on each route, in the same run:

* the upstream read directly (POST /v1/chat/completions on the fake upstream), and
* the same answer through the platform: 000 ``POST /chat/stream`` and the OpenAI-compatible
  ``POST /v1/chat/completions`` (an agent as the model),

and prints time to first token (TTFT) and inter-token delay as added milliseconds and
ratios, the relayed token rate against the upstream's, CPU per streamed request (psutil,
summed over every platform process) against this client's own CPU per answer read direct (and
the upstream's per answer written), the platform's total RSS and the aggregate throughput.

Then two more levels, each on both routes:

* scale-out (``--scale-out 200``): a second daphne and a second run worker, started with the
  launcher's own command lines as docs/scaling.md says, take the streams in turn with the first
  pair; a third pass starts each run on one daphne (004 ``POST /api/agent/initiate``) and streams
  it from the other (``GET /api/agent-run/<id>/stream``); throughput against the single pair.
* open streams (``--open-streams 1000``): a fresh ``scripts/run.sh`` whose default model is a
  slow upstream (answers lasting ``--open-seconds`` 60), with ``RUN_WORKER_CONCURRENCY`` raised
  to the level so every stream is a run in progress; errors and total RSS.

    .venv/bin/python bench/stream_relay.py [--levels 1,50,200] [--routes chat,v1] [--tokens 64]
        [--delay 0.02] [--first-delay 0.05] [--scale-out 200] [--open-streams 1000] [--open-seconds 60]

Targets (issue 7): 1 stream adds <= 10 ms TTFT p50; 200 concurrent add <= 500 ms p50 with 0
errors and >= 95 % of the token rate; <= 10 ms CPU per streamed 64-token request; 1,000 open
streams with 0 errors and < 1.5 GiB RSS; scale-out shown against a single process.
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
import tempfile
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
words, delay, first = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
reply = Reply(text=" ".join(f"tok{i}" for i in range(words)), delay=delay, first_byte_delay=first)
server = FakeLLMServer(default=reply, record=False).start()
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


def _token_of(route: str, data: str) -> tuple[str | None, str]:
    """(token text or None, terminal state: "" / "done" / an error) of one SSE data line of a route."""
    if route == "v1":
        if data == "[DONE]":
            return None, "done"
        chunk = json.loads(data)
        if "error" in chunk:
            return None, str(chunk["error"])
        choice = (chunk.get("choices") or [{}])[0]
        return choice.get("delta", {}).get("content") or None, ""
    frame = json.loads(data)
    if frame.get("type") == "token":
        return frame.get("content") or None, ""
    if frame.get("type") == "error":
        return None, frame.get("content") or "error frame"
    return None, "done" if frame.get("type") == "done" else ""


async def read_platform(session: aiohttp.ClientSession, base: str, token: str, prompt: str, *, route: str,
                        model: str) -> StreamResult:
    result = StreamResult()
    started = time.perf_counter()
    last = None
    ended = False
    if route == "v1":
        path, body = "/v1/chat/completions", {"model": model, "stream": True,
                                               "messages": [{"role": "user", "content": prompt}]}
    else:
        path, body = "/chat/stream", {"message": prompt}
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    try:
        async with session.post(f"{base}{path}", json=body, headers=headers) as response:
            if response.status != 200:
                result.error = f"HTTP {response.status}"
                return result
            async for raw in response.content:
                line = raw.decode().strip()
                if not line.startswith("data:"):
                    continue
                text, state = _token_of(route, line[5:].strip())
                if text:
                    now = time.perf_counter()
                    if last is None:
                        result.ttft = now - started
                    else:
                        result.gaps.append(now - last)
                    last = now
                    result.tokens += 1
                if state:
                    ended = True
                    if state != "done":
                        result.error = state
                    break
        if not ended and not result.error:
            result.error = "stream ended before its last frame"
    except Exception as exc:
        result.error = repr(exc)
    result.duration = time.perf_counter() - started
    return result


async def read_started_elsewhere(session: aiohttp.ClientSession, start_base: str, stream_base: str, token: str,
                                 prompt: str) -> StreamResult:
    """A run started on one daphne (004 ``POST /api/agent/initiate``) and streamed from another
    (``GET /api/agent-run/<id>/stream``): any daphne streams any run, through Redis."""
    result = StreamResult()
    started = time.perf_counter()
    last = None
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    try:
        async with session.post(f"{start_base}/api/agent/initiate", json={"prompt": prompt},
                                headers={**headers, "Accept": "application/json"}) as response:
            if response.status != 200:
                result.error = f"initiate HTTP {response.status}"
                return result
            run_id = (await response.json())["agent_run_id"]
        async with session.get(f"{stream_base}/api/agent-run/{run_id}/stream", headers=headers) as response:
            if response.status != 200:
                result.error = f"stream HTTP {response.status}"
                return result
            async for raw in response.content:
                line = raw.decode().strip()
                if not line.startswith("data:"):
                    continue
                frame = json.loads(line[5:])
                if frame.get("type") == "content" and frame.get("content"):
                    now = time.perf_counter()
                    if last is None:
                        result.ttft = now - started
                    else:
                        result.gaps.append(now - last)
                    last = now
                    result.tokens += 1
                elif frame.get("type") == "status" and frame.get("status") in ("completed", "failed", "stopped"):
                    if frame["status"] != "completed":
                        result.error = f"run {frame['status']}"
                    break
            else:
                result.error = result.error or "stream ended before its last frame"
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


async def level(concurrency: int, *, route: str, model: str, upstream: str, platform: str | list[str], token: str,
                servers: list[psutil.Process], upstream_process: psutil.Process | None = None,
                timeout_seconds: float = 300, rounds: int = 1) -> dict[str, Any]:
    """``platform``: one base URL, or several (daphnes) that take the streams in turn. Route
    ``cross``: each run is started on one daphne and streamed from the next one. ``rounds``:
    the level's streams this many times in turn (CPU is counted in 10 ms ticks per process,
    too coarse for one stream).

    The CPU baselines of the same run: this client's own CPU per direct stream it reads, and the
    upstream's per answer it writes; each is one Python process that only reads, or only writes,
    the answer's tokens, which every platform process on the token path must at least do. (Not
    the client's CPU while it reads the platform: it also samples every platform process's RSS.)"""
    bases = [platform] if isinstance(platform, str) else platform
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=timeout_seconds, sock_read=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        direct_started = time.perf_counter()
        writers = [upstream_process] if upstream_process else []
        client_before, upstream_before = time.process_time(), cpu_seconds(writers)
        direct = []
        for _ in range(rounds):
            direct += await asyncio.gather(*[read_upstream(session, upstream, f"q{i}") for i in range(concurrency)])
        direct_wall = time.perf_counter() - direct_started
        client_direct = time.process_time() - client_before
        upstream_direct = cpu_seconds(writers) - upstream_before
        idle_rss = rss(servers)
        peak_rss = idle_rss
        cpu_before = cpu_seconds(servers)
        started = time.perf_counter()
        relayed = []
        for _ in range(rounds):
            tasks = [
                asyncio.ensure_future(
                    read_started_elsewhere(session, bases[i % len(bases)], bases[(i + 1) % len(bases)], token, f"q{i}")
                    if route == "cross"
                    else read_platform(session, bases[i % len(bases)], token, f"q{i}", route=route, model=model)
                )
                for i in range(concurrency)
            ]
            while not all(task.done() for task in tasks):
                await asyncio.sleep(0.25 if concurrency > 200 else 0.05)
                peak_rss = max(peak_rss, rss(servers))
            relayed += [task.result() for task in tasks]
        wall = time.perf_counter() - started
        cpu_after = cpu_seconds(servers)
    direct_ttft = [r.ttft for r in direct if r.ttft is not None]
    relayed_ttft = [r.ttft for r in relayed if r.ttft is not None]
    direct_gap = [g for r in direct for g in r.gaps]
    relayed_gap = [g for r in relayed for g in r.gaps]
    return {
        "route": route,
        "concurrency": concurrency,
        "errors": sum(1 for r in relayed if r.error),
        "error_samples": sorted({r.error for r in relayed if r.error})[:3],
        "direct_errors": sum(1 for r in direct if r.error),
        "ttft_direct_p50_ms": p50(direct_ttft) * 1000,
        "ttft_platform_p50_ms": p50(relayed_ttft) * 1000,
        "ttft_platform_p95_ms": p95(relayed_ttft) * 1000,
        "ttft_spread_ms": (max(relayed_ttft) - min(relayed_ttft)) * 1000 if relayed_ttft and rounds == 1 else float("nan"),
        "gap_direct_p50_ms": p50(direct_gap) * 1000,
        "gap_platform_p50_ms": p50(relayed_gap) * 1000,
        "gap_platform_p95_ms": p95(relayed_gap) * 1000,
        "rate_ratio": rate(relayed) / rate(direct) if direct else float("nan"),
        "cpu_ms_per_request": (cpu_after - cpu_before) * 1000 / len(relayed),
        "client_cpu_direct_ms": client_direct * 1000 / len(direct),
        "upstream_cpu_ms": upstream_direct * 1000 / len(direct) if upstream_process else float("nan"),
        "rss_peak_mib": peak_rss / 2**20,
        "daphnes": len(bases),
        "rounds": rounds,
        "wall_s": wall,
        "tokens_per_s": sum(r.tokens for r in relayed) / wall,
        "direct_tokens_per_s": sum(r.tokens for r in direct) / direct_wall,
    }


def print_level(row: dict[str, Any]) -> None:
    added_ttft = row["ttft_platform_p50_ms"] - row["ttft_direct_p50_ms"]
    added_gap = row["gap_platform_p50_ms"] - row["gap_direct_p50_ms"]
    path = {"chat": "/chat/stream", "v1": "/v1/chat/completions",
            "cross": "004 initiate on one daphne, /api/agent-run/<id>/stream on the other"}[row["route"]]
    where = f" across {row['daphnes']} daphnes" if row["daphnes"] > 1 else ""
    rounds = f", {row['rounds']} in turn" if row["rounds"] > 1 else ""
    print(f"\n== {row['concurrency']} concurrent stream(s) on {path}{where}{rounds} ==")
    print(f"  errors (platform / direct)     {row['errors']} / {row['direct_errors']} {row['error_samples'] or ''}")
    print(f"  TTFT p50 direct / platform     {row['ttft_direct_p50_ms']:.1f} ms / {row['ttft_platform_p50_ms']:.1f} ms "
          f"(p95 {row['ttft_platform_p95_ms']:.1f} ms, spread {row['ttft_spread_ms']:.0f} ms)")
    print(f"  added TTFT p50                 {added_ttft:+.1f} ms  (x{row['ttft_platform_p50_ms'] / row['ttft_direct_p50_ms']:.2f})")
    print(f"  inter-token p50 direct / plat. {row['gap_direct_p50_ms']:.2f} ms / {row['gap_platform_p50_ms']:.2f} ms "
          f"(added {added_gap:+.2f} ms, platform p95 {row['gap_platform_p95_ms']:.2f} ms)")
    print(f"  relayed token rate             {row['rate_ratio'] * 100:.1f} % of upstream")
    print(f"  CPU per streamed request       {row['cpu_ms_per_request']:.1f} ms (every platform process)")
    print(f"  baseline CPU per answer        {row['client_cpu_direct_ms']:.1f} ms this client reading it direct, "
          f"{row['upstream_cpu_ms']:.1f} ms the upstream writing it (platform: "
          f"x{row['cpu_ms_per_request'] / (row['client_cpu_direct_ms'] or float('nan')):.1f} the reader's)")
    print(f"  platform RSS (peak)            {row['rss_peak_mib']:.0f} MiB (every platform process)")
    print(f"  aggregate throughput           {row['tokens_per_s']:.0f} tokens/s relayed in {row['wall_s']:.1f} s "
          f"(direct: {row['direct_tokens_per_s']:.0f} tokens/s)", flush=True)


def start_platform(env: dict[str, str], port: int) -> tuple[subprocess.Popen, Any]:
    """``scripts/run.sh`` itself, as ``make run`` starts it; returns once it printed its ready line."""
    output = tempfile.TemporaryFile()
    launcher = subprocess.Popen(["scripts/run.sh", "127.0.0.1", str(port)], cwd=ROOT, env=env, stdout=output,
                                stderr=subprocess.STDOUT, start_new_session=True)
    while True:
        output.seek(0)
        if b"CodexEngine is running" in output.read():
            return launcher, output
        if launcher.poll() is not None:
            output.seek(0)
            raise RuntimeError(f"scripts/run.sh exited before it was ready:\n{output.read().decode()[-3000:]}")
        time.sleep(0.1)


def start_upstream(env: dict[str, str], tokens: int, delay: float, first_delay: float) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([PYTHON, "-c", UPSTREAM, str(tokens), str(delay), str(first_delay)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    return process, f"http://127.0.0.1:{process.stdout.readline().strip()}/v1"


def stop(children: list[subprocess.Popen]) -> None:
    for child in reversed(children):
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGTERM)  # a platform's whole process group
            except (ProcessLookupError, PermissionError):
                child.terminate()
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def start_second_instance(env: dict[str, str]) -> tuple[list[subprocess.Popen], str]:
    """A second daphne and a second run worker, each started as docs/scaling.md says: the
    launcher's own command lines (``python -m codex.launcher exec ROLE``), with an instance id of
    their own, on the same database, Redis and queues as the first ``make run``."""
    port = free_port()
    # One daphne (make run's web role is WEB_PROCESSES of them): the second instance adds one of each.
    second = {**env, "CODEX_INSTANCE_ID": "bench-b", "WEB_PROCESSES": "1"}
    log = tempfile.TemporaryFile()
    processes = [
        subprocess.Popen([PYTHON, "-m", "codex.launcher", "exec", role, "127.0.0.1", str(port)], cwd=ROOT, env=second,
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for role in ("web", "runs")
    ]
    from codex import launcher

    # The name launcher.node_name gives the worker in its own environment (its queue, its instance id).
    worker = f"{env['CELERY_RUN_QUEUE']}@{socket.gethostname()}-{second['CODEX_INSTANCE_ID']}"
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while not launcher.is_ready(url=url, workers=[worker]):
        if time.monotonic() > deadline or any(process.poll() is not None for process in processes):
            stop(processes)
            log.seek(0)
            raise RuntimeError(f"the second daphne and run worker did not get ready:\n{log.read().decode()[-3000:]}")
        time.sleep(0.5)
    return processes, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,50,200")
    parser.add_argument("--routes", default="chat,v1", help="chat (/chat/stream), v1 (/v1/chat/completions); cross alone runs only the scale-out's cross pass")
    parser.add_argument("--tokens", type=int, default=64, help="tokens per upstream answer")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between upstream tokens")
    parser.add_argument("--first-delay", type=float, default=0.05, help="seconds before the upstream's headers")
    parser.add_argument("--scale-out", type=int, default=200,
                        help="streams for the scale-out level (two daphnes, two run workers); 0 skips it")
    parser.add_argument("--open-streams", type=int, default=1000,
                        help="streams held open on a slow upstream, on a platform of their own; 0 skips it")
    parser.add_argument("--open-seconds", type=float, default=60.0, help="how long each slow answer lasts")
    parser.add_argument("--single-rounds", type=int, default=20, help="streams the 1-stream level runs in turn")
    parser.add_argument("--logs", default="", help="file to keep the platform's output in (default: discarded)")
    args = parser.parse_args()

    database_url = bench_database_url()
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING",
           "CELERY_QUEUE": QUEUE, "CELERY_RUN_QUEUE": f"{QUEUE}-runs",
           # The one thing raised against `make run`: one client opens every stream.
           "RUN_START_THROTTLE": "1000000/min", "RUN_STREAM_THROTTLE": "1000000/min"}
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)

    children: list[subprocess.Popen] = []
    output = None
    try:
        upstream_proc, upstream = start_upstream(env, args.tokens, args.delay, args.first_delay)
        children.append(upstream_proc)
        env.update({"LLM_BASE_URL": upstream, "LLM_API_KEY": "sk-bench", "LLM_MODEL": "fake-model"})
        port = free_port()
        started = time.monotonic()
        launcher, output = start_platform(env, port)
        children.append(launcher)
        print(f"scripts/run.sh ready in {time.monotonic() - started:.1f} s", flush=True)
        platform = f"http://127.0.0.1:{port}"

        import django
        from django.conf import settings

        settings.DATABASES["default"]["NAME"] = DATABASE  # before the first connection is made
        django.setup()
        from rest_framework_simplejwt.tokens import RefreshToken

        from apps.accounts.models import User
        from apps.agents.models import Agent

        user, _ = User.objects.get_or_create(username="bench", defaults={"email": "bench@example.com"})
        agent, _ = Agent.objects.get_or_create(owner=user, name="bench-agent")
        token = str(RefreshToken.for_user(user).access_token)
        servers = [psutil.Process(launcher.pid)]
        names = sorted({" ".join(child.cmdline()[2:5]) for child in servers[0].children(recursive=True)})
        print(f"upstream: {args.tokens} tokens, {args.delay * 1000:.0f} ms apart, first after "
              f"{args.first_delay * 1000:.0f} ms; {os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.1f}; "
              f"platform processes: {len(servers[0].children(recursive=True))} ({'; '.join(names)})", flush=True)
        idle_before, idle_started = cpu_seconds(servers), time.monotonic()
        time.sleep(3)
        idle_rate = (cpu_seconds(servers) - idle_before) / (time.monotonic() - idle_started)
        print(f"idle CPU (every platform process): {idle_rate * 1000:.1f} ms per second; "
              f"RSS {rss(servers) / 2**20:.0f} MiB", flush=True)
        routes = args.routes.split(",")

        def run_level(concurrency: int, route: str, bases: str | list[str], **kwargs: Any) -> dict[str, Any]:
            return asyncio.run(level(concurrency, route=route, model=str(agent.pk), upstream=upstream,
                                     upstream_process=psutil.Process(upstream_proc.pid),
                                     platform=bases, token=token, servers=servers, **kwargs))

        # Cold start: the very first run after the ready line, against the tenth.
        first = run_level(1, "chat", platform)
        for _ in range(8):
            run_level(1, "chat", platform)
        tenth = run_level(1, "chat", platform)
        print(f"cold start: first run after the ready line TTFT {first['ttft_platform_p50_ms']:.0f} ms, "
              f"tenth {tenth['ttft_platform_p50_ms']:.0f} ms (x{first['ttft_platform_p50_ms'] / tenth['ttft_platform_p50_ms']:.2f})",
              flush=True)
        single: dict[tuple[int, str], dict[str, Any]] = {}
        for concurrency in [int(value) for value in args.levels.split(",") if value]:
            for route in [route for route in routes if route != "cross"]:
                single[concurrency, route] = row = run_level(concurrency, route, platform,
                                                             rounds=args.single_rounds if concurrency == 1 else 1)
                print_level(row)
                print(f"  load average                   {os.getloadavg()[0]:.1f}", flush=True)

        if args.scale_out:
            second, platform_b = start_second_instance(env)
            children.extend(second)
            servers.extend(psutil.Process(process.pid) for process in second)
            print(f"\nscale-out: a second daphne ({platform_b}) and a second run worker, load {os.getloadavg()[0]:.1f}",
                  flush=True)
            for route in [*(route for route in routes if route != "cross"), "cross"]:
                row = run_level(args.scale_out, route, [platform, platform_b])
                print_level(row)
                alone = single.get((args.scale_out, route))
                if alone:
                    print(f"  throughput against one daphne + one run worker: x{row['tokens_per_s'] / alone['tokens_per_s']:.2f} "
                          f"({alone['tokens_per_s']:.0f} tokens/s)", flush=True)
            stop(second)
            for process in second:
                children.remove(process)
            del servers[1:]

        if args.open_streams:
            # A platform of its own: the slow upstream is its default model, and its run worker takes
            # every stream at once (RUN_WORKER_CONCURRENCY, the documented knob, raised to the level).
            stop([launcher])
            children.remove(launcher)
            delay = args.open_seconds / args.tokens
            slow_proc, slow = start_upstream(env, args.tokens, delay, args.first_delay)
            children.append(slow_proc)
            open_env = {**env, "LLM_BASE_URL": slow, "RUN_WORKER_CONCURRENCY": str(max(args.open_streams, 200))}
            launcher, output = start_platform(open_env, port)
            children.append(launcher)
            servers[:] = [psutil.Process(launcher.pid)]
            upstream, upstream_proc = slow, slow_proc
            print(f"\nopen streams: {args.open_streams} answers of {args.open_seconds:.0f} s ({args.tokens} tokens "
                  f"{delay:.2f} s apart), RUN_WORKER_CONCURRENCY={open_env['RUN_WORKER_CONCURRENCY']}, "
                  f"idle RSS {rss(servers) / 2**20:.0f} MiB, load {os.getloadavg()[0]:.1f}", flush=True)
            for route in [route for route in routes if route != "cross"]:
                print_level(run_level(args.open_streams, route, platform, timeout_seconds=args.open_seconds * 4 + 120))
                print(f"  load average                   {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        stop(children)
        if args.logs and output is not None:
            output.seek(0)
            Path(args.logs).write_bytes(output.read())


if __name__ == "__main__":
    main()
