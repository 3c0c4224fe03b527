#!/usr/bin/env bash
# Run the platform in the foreground: daphne, the run worker (thread pool, RUN_WORKER_CONCURRENCY runs),
# the task worker (prefork, CELERY_CONCURRENCY processes) and Celery beat; codex/launcher.py holds
# their command lines (the container, the end-to-end tests and the benchmark start the same ones).
# It prints the ready line once daphne answers and both workers, warmed up, answer a ping; a process
# that dies is restarted. Ctrl-C (or SIGTERM) stops them all; the embedded PostgreSQL stops with them.
set -euo pipefail
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
VENV=${VENV:-.venv}
exec "$VENV/bin/python" -m codex.launcher run "$HOST" "$PORT"
