#!/usr/bin/env bash
# Run the platform in the foreground: daphne, a Celery worker and Celery beat.
# Ctrl-C (or SIGTERM) stops all three; the embedded PostgreSQL stops with the last of them.
set -euo pipefail
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
VENV=.venv
pids=()
cleanup() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

redis_available() {
  $VENV/bin/python - <<'PY'
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codex.settings")
django.setup()
from django.conf import settings
sys.exit(0 if settings.REDIS_AVAILABLE else 1)
PY
}

if redis_available 2>/dev/null; then
  $VENV/bin/celery -A codex worker --loglevel=INFO --concurrency="${CELERY_CONCURRENCY:-2}" &
  pids+=($!)
  $VENV/bin/celery -A codex beat --loglevel=INFO &
  pids+=($!)
else
  echo "Redis is not available: background jobs run inside the web process."
fi
# A connection pool keeps a burst of requests from opening one PostgreSQL connection each.
DATABASE_POOL_MAX_SIZE="${DATABASE_POOL_MAX_SIZE:-16}" $VENV/bin/daphne -b "$HOST" -p "$PORT" codex.asgi:application &
pids+=($!)

$VENV/bin/python - "$HOST" "$PORT" <<'PY'
import sys, time, urllib.request
url = f"http://{sys.argv[1]}:{sys.argv[2]}/api/health"
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(url, timeout=2).close()
        break
    except OSError:
        time.sleep(0.5)
PY

cat <<MSG

CodexEngine is running:
  home page      http://$HOST:$PORT/
  admin console  http://$HOST:$PORT/admin/
  API docs       http://$HOST:$PORT/api/docs/
  deep health    http://$HOST:$PORT/api/health/deep

MSG
wait -n "${pids[@]}"
