#!/usr/bin/env bash
# Make sure the services the platform needs are installed and running on this machine.
# Idempotent: does nothing when Redis already answers.
set -euo pipefail

redis_ok() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }

if [ -n "${REDIS_URL:-}" ] && [[ "${REDIS_URL}" != redis://127.0.0.1* && "${REDIS_URL}" != redis://localhost* ]]; then
  exit 0  # an external Redis is the operator's to run
fi

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing redis-server"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
  else
    echo "warning: redis-server is not installed; the platform will run in one process without it" >&2
    exit 0
  fi
fi

if ! redis_ok; then
  echo "starting redis-server"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log \
    || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do redis_ok && break; sleep 0.1; done
fi
redis_ok && echo "redis: ok"
