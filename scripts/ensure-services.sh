#!/usr/bin/env bash
# Make sure a local Redis is running (installing it is ensure-system.sh's job).
# Idempotent: does nothing when Redis already answers or REDIS_URL points elsewhere.
set -euo pipefail

if [ -n "${REDIS_URL:-}" ] && [[ "${REDIS_URL}" != redis://127.0.0.1* && "${REDIS_URL}" != redis://localhost* ]]; then
  exit 0  # an external Redis is the operator's to run
fi

redis_ok() {
  if command -v redis-cli >/dev/null 2>&1; then
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1
  else
    # No redis-cli: speak the protocol over bash's /dev/tcp.
    (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && read -r -t 2 reply <&3 && [[ "$reply" == +PONG* ]]) 2>/dev/null
  fi
}

if redis_ok; then
  echo "redis: ok"
  exit 0
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "warning: redis-server is not installed; the platform will run in one process without it" >&2
  exit 0
fi

echo "starting redis-server"
dir=/var/lib/redis
mkdir -p "$dir" 2>/dev/null && [ -w "$dir" ] || dir=$(mktemp -d)
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
  --dir "$dir" --logfile "$dir/codex-redis.log"
for _ in $(seq 1 50); do redis_ok && break; sleep 0.1; done
if redis_ok; then echo "redis: ok"; else echo "warning: redis-server did not start; see $dir/codex-redis.log" >&2; fi
