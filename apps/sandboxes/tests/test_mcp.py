"""``/mcp/sandboxes/{id}`` (the ``mcp_url`` of 003's create), driven by the SDK's client against daphne."""
from __future__ import annotations

import httpx
import pytest

from apps.sandboxes import services
from apps.sandboxes.models import Sandbox
from apps.sandboxes.tests.conftest import needs_bwrap
from apps.tools.tests.mcp_client import call, list_tools, over_mcp, refused
from conftest import bearer_for

pytestmark = [pytest.mark.django_db(transaction=True), needs_bwrap]

A = "/api/v1/agent/sandboxes"
TOOLS = ["shell", "read_file", "write_file", "list_files", "start_session", "preview_url"]


def test_create_info_and_urls_give_the_sandboxes_mcp_url(alice, daphne):
    with daphne.client(alice) as api:
        created = api.post(A, json={"template_id": "python"}).json()
        sandbox_id = created["sandbox_id"]
        info = api.get(f"{A}/{sandbox_id}/info").json()
        urls = api.get(f"{A}/{sandbox_id}/urls").json()

    assert created["mcp_url"] == info["mcp_url"] == urls["mcp_url"] == f"{daphne.url}/mcp/sandboxes/{sandbox_id}"
    assert [tool.name for tool in over_mcp(created["mcp_url"], bearer_for(alice), list_tools).tools] == TOOLS


def test_the_sandbox_tools_work_over_mcp(alice, daphne, sandbox):
    url, token = f"{daphne.url}/mcp/sandboxes/{sandbox.public_id}", bearer_for(alice)

    wrote = over_mcp(url, token, call("write_file", {"path": "site/hello.py", "content": "print(6 * 7)\n"}))
    ran = over_mcp(url, token, call("shell", {"command": "python3 site/hello.py"}))
    read = over_mcp(url, token, call("read_file", {"path": "site/hello.py"}))
    listed = over_mcp(url, token, call("list_files", {}))
    outside = over_mcp(url, token, call("read_file", {"path": "../../etc/passwd"}))

    assert wrote.is_error is False and wrote.content[0].text == "Wrote site/hello.py (13 bytes) in the sandbox."
    assert ran.is_error is False and "exit code 0" in ran.content[0].text and "stdout:\n42\n" in ran.content[0].text
    assert read.content[0].text == "print(6 * 7)\n"
    assert "site/hello.py" in listed.content[0].text
    assert outside.is_error is True
    assert services.file_read(sandbox=sandbox, path="site/hello.py", max_bytes=100) == b"print(6 * 7)\n"


def test_a_bad_argument_is_a_tool_error(alice, daphne, sandbox):
    result = over_mcp(f"{daphne.url}/mcp/sandboxes/{sandbox.public_id}", bearer_for(alice), call("shell", {}))

    assert result.is_error is True
    assert result.content[0].text == "Invalid parameters for shell: 'command' is a required property"


def test_only_the_owner_may_use_it(alice, bob, daphne, sandbox):
    url = f"{daphne.url}/mcp/sandboxes/{sandbox.public_id}"

    assert refused(url, bearer_for(bob)).error.message == "Sandbox not found."
    response = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer ")
    refused(url, None)
    assert refused(f"{daphne.url}/mcp/sandboxes/sbx_0000", bearer_for(alice)).error.message == "Sandbox not found."


def test_a_deleted_sandbox_is_gone(alice, daphne, sandbox):
    url = f"{daphne.url}/mcp/sandboxes/{sandbox.public_id}"
    services.sandbox_stop(sandbox=sandbox, status=Sandbox.Status.STOPPED, keep_files=False)

    assert refused(url, bearer_for(alice)).error.message == "Sandbox not found."
