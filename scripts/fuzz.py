"""``make fuzz``: schemathesis over /api/schema/ against a live platform, as a normal user, bounded in time.

It starts the platform as ``make run`` does (scripts/run.sh) on a port of its own, configured
as an installation would be (the billing admin key, the webhook secret, the OAuth token URL;
see docs/fuzzing.md), signs a normal user in, runs schemathesis over every
operation of the schema (the streams included, each request cut short after
FUZZ_REQUEST_TIMEOUT seconds), stops the platform and counts the server's 5xx answers from its
access log. The counts are printed and written to var/fuzz/summary.txt; the exit status is 1
when any 5xx was seen. REDIS_URL is passed on as it is set (give each concurrent run its own DB).

    FUZZ_SECONDS=600 FUZZ_PORT=8765 FUZZ_WORKERS=2 FUZZ_REQUEST_TIMEOUT=5 make fuzz
"""
from __future__ import annotations

import collections
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "fuzz"
SCHEMATHESIS = ROOT / "var" / "fuzz-venv" / "bin" / "schemathesis"
USERNAME = "fuzz-user"
#: Logging out revokes the fuzzer's own token (and every token issued before it), after
#: which every later request would only test the 401 path; the logout routes have tests.
DEFAULT_EXCLUDE = r"/logout$"
ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>[^" ]*)[^"]*" (?P<status>\d{3}) ')


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _token() -> str:
    """A normal (non-staff) user's access token, valid for the whole run."""
    code = (
        "from datetime import timedelta\n"
        "from rest_framework_simplejwt.tokens import AccessToken\n"
        "from apps.accounts.models import User\n"
        f"user, _ = User.objects.get_or_create(username={USERNAME!r}, defaults={{'email': 'fuzz@example.com'}})\n"
        "user.is_staff = user.is_superuser = False\n"
        "user.is_active = True\n"
        "user.save()\n"
        "token = AccessToken.for_user(user)\n"
        "token.set_exp(lifetime=timedelta(hours=6))\n"
        "print(token)\n"
    )
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, check=True,
                            capture_output=True, text=True)
    return result.stdout.strip().splitlines()[-1]


def _wait_ready(url: str, platform: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if platform.poll() is not None:
            raise SystemExit(f"the platform exited at start; see {OUT / 'platform.log'}")
        try:
            with urllib.request.urlopen(f"{url}/api/schema/", timeout=30) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"the platform did not answer within {timeout:.0f} s; see {OUT / 'platform.log'}")


def _stop(platform: subprocess.Popen) -> None:
    if platform.poll() is None:
        os.killpg(platform.pid, signal.SIGTERM)
        try:
            platform.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(platform.pid, signal.SIGKILL)
            platform.wait()


def _count(log: Path) -> tuple[collections.Counter, int]:
    errors: collections.Counter = collections.Counter()
    total = 0
    for line in log.read_text(errors="replace").splitlines():
        match = ACCESS_LINE.search(line)
        if not match:
            continue
        total += 1
        if match["status"].startswith("5"):
            path = re.sub(r"/[0-9a-f-]{8,}|/\d+", "/{id}", match["path"].split("?")[0])
            errors[f"{match['status']} {match['method']} {path}"] += 1
    return errors, total


def _installation(url: str) -> dict[str, str]:
    """What an installation configures and a bare checkout lacks; without it those routes answer
    503/502 by design ("not configured"), which would hide the code behind them. The model is the
    built-in offline one (no LLM_BASE_URL): a fake upstream answers every prompt with the same
    text, which the slide and podcast writers rightly refuse (a 502), as a real model would not."""
    return {
        "BILLING_ADMIN_API_KEY": secrets.token_hex(16), "POLAR_WEBHOOK_SECRET": secrets.token_hex(16),
        # The platform's own OAuth2 token endpoint: a real one, which refuses made-up codes.
        "MCP_CLAUDE_CODE_TOKEN_URL": f"{url}/oauth2/token",
    }


def main() -> int:
    seconds = int(_env("FUZZ_SECONDS", "600"))
    port = int(_env("FUZZ_PORT", "8765"))
    url = f"http://127.0.0.1:{port}"
    OUT.mkdir(parents=True, exist_ok=True)
    log_path = OUT / "platform.log"
    token = _token()
    with open(log_path, "w") as log:
        platform = subprocess.Popen(["./scripts/run.sh", "127.0.0.1", str(port)], cwd=ROOT, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    env={**os.environ, **_installation(url)})
    started = time.monotonic()
    try:
        _wait_ready(url, platform)
        command = [
            str(SCHEMATHESIS), "run", f"{url}/api/schema/",
            "--header", f"Authorization: Bearer {token}",
            "--max-time", str(seconds),
            "--request-timeout", _env("FUZZ_REQUEST_TIMEOUT", "5"),
            "--workers", _env("FUZZ_WORKERS", "2"),
            "--checks", "not_a_server_error",
            "--continue-on-failure",
            "--exclude-path-regex", _env("FUZZ_EXCLUDE", DEFAULT_EXCLUDE),
            "--suppress-health-check", "all",
            "--report", "junit,ndjson", "--report-dir", str(OUT / "report"),
            "--warnings", "off",
        ]
        # Its example database (.schemathesis/) stays under var/fuzz, not in the work tree.
        fuzz = subprocess.run(command, cwd=OUT)
    finally:
        _stop(platform)
    errors, total = _count(log_path)
    lines = [
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: schemathesis exit status {fuzz.returncode};"
        f" {time.monotonic() - started:.0f} s with the platform up, FUZZ_SECONDS={seconds}",
        f"requests answered: {total}; server errors (5xx): {sum(errors.values())}",
        *(f"  {count:5d}  {key}" for key, count in errors.most_common()),
    ]
    summary = "\n".join(lines) + "\n"
    (OUT / "summary.txt").write_text(summary)
    print(summary, end="")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
