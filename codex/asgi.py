"""ASGI entry point: HTTP (including SSE) through Django, WebSockets through Channels."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codex.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402  (Django must be set up first)
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from apps.core.jobs import discover_tasks  # noqa: E402
from apps.sandboxes.proxy import with_previews  # noqa: E402

# Every task module now, before the first request: the first chats of a burst must not wait for it.
discover_tasks()

# Only requests under STATIC_URL reach the static handler; everything else goes straight to Django.
http_application = ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app

# /preview/<sandbox>/<port>/... is proxied into a sandbox (apps/sandboxes/proxy.py); the rest is Django's.
application = ProtocolTypeRouter({"http": with_previews(http_application)})
