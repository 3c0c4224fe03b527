"""ASGI entry point: HTTP (including SSE) through Django; previews (HTTP and WebSocket) through the sandbox proxy."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codex.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402  (Django must be set up first)
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from apps.conversations.mcp import agent_mcp  # noqa: E402
from apps.core.api.asgi import database_guard  # noqa: E402
from apps.core.db import open_pool  # noqa: E402
from apps.core.jobs import discover_tasks, warm_broker  # noqa: E402
from apps.sandboxes.mcp import sandbox_mcp  # noqa: E402
from apps.sandboxes.proxy import with_previews  # noqa: E402
from apps.tools.mcp.serving import with_mcp  # noqa: E402

# Every task module, the broker's connections and the database pool's first ones now, before the
# first request: the first chats of a burst must not wait for them, nor each build them.
discover_tasks()
warm_broker()
open_pool()

# Only requests under STATIC_URL reach the static handler; everything else goes straight to Django.
http_application = ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app

# /preview/<sandbox>/<port>/... is proxied into a sandbox, HTTP and WebSocket (apps/sandboxes/proxy.py);
# /mcp/agents/<id> and /mcp/sandboxes/<id> are MCP servers (apps/tools/mcp/serving.py), outside Django;
# the rest of HTTP is Django's, and no other WebSocket route exists. Outside Django's handler too, an
# unreachable database is a 503 (apps/core/api/asgi.py).
MCP_ENDPOINTS = [agent_mcp, sandbox_mcp]
routed = with_previews(http_application)
application = ProtocolTypeRouter({"http": database_guard(with_mcp(routed, MCP_ENDPOINTS)), "websocket": routed})
