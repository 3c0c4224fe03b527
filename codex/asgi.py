"""ASGI entry point: HTTP (including SSE) through Django, WebSockets through Channels."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codex.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402  (Django must be set up first)
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from apps.core.api.asgi import database_guard  # noqa: E402
from apps.sandboxes.proxy import with_previews  # noqa: E402

# Only requests under STATIC_URL reach the static handler; everything else goes straight to Django.
http_application = ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app

# /preview/<sandbox>/<port>/... is proxied into a sandbox (apps/sandboxes/proxy.py); the rest is Django's.
# Outside Django's handler too, an unreachable database is a 503 (apps/core/api/asgi.py).
application = ProtocolTypeRouter({"http": database_guard(with_previews(http_application))})
