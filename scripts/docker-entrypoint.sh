#!/usr/bin/env bash
# The container's roles: web (daphne), runs (the run worker), worker (ingestion, generation, scheduled
# tasks), beat, migrate (migrate + bootstrap), or any command. codex/launcher.py holds the command
# lines, the same ones `make run` starts (docs/scaling.md).
set -euo pipefail

case "${1:-web}" in
  web)
    exec python -m codex.launcher exec web 0.0.0.0 "${PORT:-8000}"
    ;;
  runs)
    exec python -m codex.launcher exec runs
    ;;
  worker)
    exec python -m codex.launcher exec tasks
    ;;
  beat)
    # Schedules live in the database (django-celery-beat); run exactly one beat per installation.
    exec python -m codex.launcher exec beat
    ;;
  migrate)
    python manage.py migrate --noinput
    python manage.py load_system_skills
    python manage.py load_toolkits
    exec python manage.py bootstrap
    ;;
  *)
    exec "$@"
    ;;
esac
