#!/usr/bin/env bash
# Run the platform in the foreground: daphne, a Celery worker and Celery beat.
# Ctrl-C stops all three; the embedded PostgreSQL stops with the last of them.
set -euo pipefail
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
VENV=.venv
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if $VENV/bin/python -c "import sys, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','codex.settings'); django.setup(); from django.conf import settings; sys.exit(0 if settings.REDIS_AVAILABLE else 1)"; then
  $VENV/bin/celery -A codex worker --loglevel=INFO --concurrency=2 &
  pids+=($!)
  $VENV/bin/celery -A codex beat --loglevel=INFO &
  pids+=($!)
else
  echo "Redis is not available: background jobs run inside the web process."
fi
$VENV/bin/daphne -b "$HOST" -p "$PORT" codex.asgi:application &
pids+=($!)

cat <<MSG

CodexEngine is running:
  home page      http://$HOST:$PORT/
  admin console  http://$HOST:$PORT/admin/
  API docs       http://$HOST:$PORT/api/docs/
  deep health    http://$HOST:$PORT/api/health/deep

MSG
wait -n "${pids[@]}"
