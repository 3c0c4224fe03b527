#!/usr/bin/env bash
# The container's roles: web (daphne), worker, beat, migrate (migrate + bootstrap), or any command.
set -euo pipefail

case "${1:-web}" in
  web)
    exec daphne -b 0.0.0.0 -p "${PORT:-8000}" --proxy-headers codex.asgi:application
    ;;
  worker)
    exec celery -A codex worker --loglevel="${LOG_LEVEL:-INFO}" --concurrency="${CELERY_CONCURRENCY:-2}"
    ;;
  beat)
    # Schedules live in the database (django-celery-beat); run exactly one beat per installation.
    exec celery -A codex beat --loglevel="${LOG_LEVEL:-INFO}" --pidfile=
    ;;
  migrate)
    python manage.py migrate --noinput
    python manage.py load_system_skills
    exec python manage.py bootstrap
    ;;
  *)
    exec "$@"
    ;;
esac
