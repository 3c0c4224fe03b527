"""``/mcp/sandboxes/{sandbox_id}``: one sandbox's tools as an MCP server (the ``mcp_url`` of 003's create).

The tools are the agents' sandbox tools (:func:`apps.sandboxes.tools.sandbox_tools`), bound to
this sandbox instead of a run's: shell, read_file, write_file, list_files, start_session and
preview_url. Only the sandbox's owner may use it; anyone else, and a finished sandbox, get 404.
The endpoint itself (auth, 401/404, the SDK's transport) is :class:`apps.tools.mcp.serving.McpEndpoint`.
"""
from __future__ import annotations

from typing import Any

from apps.sandboxes import selectors, services
from apps.sandboxes.models import Sandbox
from apps.sandboxes.tools import sandbox_tools
from apps.tools.mcp.serving import McpEndpoint, McpTarget
from apps.tools.registry import ToolContext

PREFIX = "/mcp/sandboxes/"
ENDPOINT = "mcp /mcp/sandboxes/{sandbox_id}"


def sandbox_mcp_path(*, sandbox: Sandbox) -> str:
    return f"{PREFIX}{sandbox.public_id}"


def sandbox_target(user: Any, sandbox_id: str) -> McpTarget:
    sandbox = selectors.sandbox_get(user=user, sandbox_id=sandbox_id, alive=True)

    def locate(context: ToolContext) -> Sandbox:
        # Read again at each call: the sandbox may have been paused, stopped or deleted since.
        return services.sandbox_use(sandbox=selectors.sandbox_get(user=context.user, sandbox_id=sandbox_id, alive=True))

    return McpTarget(
        name=f"CodexEngine sandbox {sandbox.public_id}",
        instructions=(
            "An isolated Linux workspace without network: run commands, read and write files under "
            "/workspace, start long-running sessions and get preview links of servers running inside."
        ),
        tools=sandbox_tools(locate),
        context=ToolContext(user=user, endpoint=ENDPOINT),
    )


sandbox_mcp = McpEndpoint(prefix=PREFIX, resolve=sandbox_target, id_name="sandbox_id", id_pattern=r"sbx_[0-9a-f]{1,32}")
