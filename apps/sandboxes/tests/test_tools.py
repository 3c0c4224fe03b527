"""Agents use sandboxes: the sandbox tools in a run's toolset, and the offline model calling shell."""
from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from apps.agents.runtime import RunOptions, agent_run_stream
from apps.conversations.models import Thread
from apps.sandboxes import services
from apps.sandboxes.models import Sandbox
from apps.sandboxes.tests.conftest import needs_bwrap
from apps.sandboxes.tools import TOOL_NAMES, provide_sandbox_tools
from apps.tools.registry import ToolContext
from apps.tools.selectors import toolset_resolve
from apps.tools.toolset import ToolsetRequest

pytestmark = [pytest.mark.django_db(transaction=True), needs_bwrap]


def run(**kwargs) -> list:
    async def collect() -> list:
        return [event async for event in agent_run_stream(**kwargs)]

    return async_to_sync(collect)()


def call(toolset, name: str, arguments: dict, context: ToolContext):
    return async_to_sync(toolset.call)(name, arguments, context)


def test_the_default_toolset_has_the_sandbox_tools(alice):
    toolset = toolset_resolve(request=ToolsetRequest(user=alice))
    assert set(TOOL_NAMES) <= {tool.name for tool in toolset.tools}
    named = provide_sandbox_tools(ToolsetRequest(user=alice, tool_names=["shell", "calculator"]))
    assert [tool.name for tool in named.tools] == ["shell"]


def test_the_tool_listing_offers_the_sandbox_tools_so_an_agent_can_name_them(alice_client):
    # GET /api/tools is where an agent editor picks tools from: a tool missing there cannot be given to an agent.
    listed = alice_client.get("/api/tools", {"type": "sandbox"}).json()["data"]["tools"]
    # write_file is the workspace tool's name too, and a named tool keeps the first provider's (the workspace's).
    assert set(TOOL_NAMES) - {"write_file"} <= {tool["name"] for tool in listed}
    everything = {tool["name"] for tool in alice_client.get("/api/tools").json()["data"]["tools"]}
    assert {"shell", "calculator", "write_file"} <= everything


def test_a_named_workspace_write_file_keeps_its_name(alice):
    toolset = toolset_resolve(request=ToolsetRequest(user=alice, tool_names=["write_file"]))
    assert toolset.get("write_file").type == "workspace"


def test_tools_work_in_the_threads_project_sandbox(alice, project):
    thread = Thread.objects.create(owner=alice, project=project)
    toolset = toolset_resolve(request=ToolsetRequest(user=alice))  # the defaults: every sandbox tool
    context = ToolContext(user=alice, thread_id=thread.pk)
    assert not call(toolset, "write_file", {"path": "site/index.html", "content": "<h1>Hi</h1>"}, context).error
    sandbox = Sandbox.objects.get(project=project)
    assert call(toolset, "read_file", {"path": "site/index.html"}, context).text == "<h1>Hi</h1>"
    assert "site/index.html" in call(toolset, "list_files", {}, context).text
    shell = call(toolset, "shell", {"command": "cat site/index.html; exit 4"}, context)
    assert "<h1>Hi</h1>" in shell.text and "exit code 4" in shell.text
    started = call(toolset, "start_session", {"name": "web", "command": "python3 -m http.server 9000", "port": 9000}, context)
    assert "web" in started.text
    preview = call(toolset, "preview_url", {"port": 9000}, context)
    assert f"/preview/{sandbox.public_id}/9000/" in preview.text
    refused = call(toolset, "read_file", {"path": "../../etc/passwd"}, context)
    assert refused.error and "leave" in refused.text
    assert Sandbox.objects.filter(owner=alice, status__in=Sandbox.ALIVE).count() == 1


def test_a_thread_without_a_project_gets_the_users_own_sandbox(alice):
    toolset = toolset_resolve(request=ToolsetRequest(user=alice, tool_names=["shell"]))
    first = call(toolset, "shell", {"command": "echo one > f"}, ToolContext(user=alice))
    second = call(toolset, "shell", {"command": "cat f"}, ToolContext(user=alice))
    assert not first.error and "one" in second.text
    sandbox = Sandbox.objects.get(owner=alice)
    assert sandbox.project is None
    services.sandbox_stop(sandbox=sandbox, status=Sandbox.Status.STOPPED, keep_files=False)


def test_the_offline_model_runs_a_command_when_asked(alice, project):
    thread = Thread.objects.create(owner=alice, project=project)
    events = run(
        user=alice, agent=None, messages=[{"role": "user", "content": "Please run `python3 -c 'print(6*7)'` for me"}],
        options=RunOptions(), run_id=None, thread_id=thread.pk, endpoint="/api/agent/start",
    )
    calls = [event.data for event in events if event.type == "tool_call"]
    results = [event.data for event in events if event.type == "tool_result"]
    assert calls[0]["tool"] == "shell" and calls[0]["arguments"] == {"command": "python3 -c 'print(6*7)'"}
    assert results[0]["tool"] == "shell" and "42" in results[0]["result"] and not results[0]["error"]


def test_a_commands_output_streams_while_it_runs(alice, project):
    thread = Thread.objects.create(owner=alice, project=project)
    command = "for i in 1 2 3; do echo line$i; sleep 0.4; done; echo oops >&2"
    events = run(
        user=alice, agent=None, messages=[{"role": "user", "content": f"run `{command}`"}],
        options=RunOptions(), run_id=None, thread_id=thread.pk, endpoint="/api/agent/start",
    )
    kinds = [event.type for event in events]
    outputs = [event.data for event in events if event.type == "tool_output"]
    assert kinds.index("tool_call") < kinds.index("tool_output") < kinds.index("tool_result")
    # In pieces as the command wrote them, not one blob at the end.
    assert len([piece for piece in outputs if piece["stream"] == "stdout"]) >= 2
    assert "line3" not in outputs[0]["content"]
    assert "".join(piece["content"] for piece in outputs if piece["stream"] == "stdout") == "line1\nline2\nline3\n"
    assert [piece["content"] for piece in outputs if piece["stream"] == "stderr"] == ["oops\n"]
    assert all(piece["tool"] == "shell" for piece in outputs)


def test_output_pieces_keep_multibyte_characters_whole(sandbox):
    pieces = []
    result = services.sandbox_exec(
        sandbox=sandbox, command="printf '\\303'; sleep 0.3; printf '\\251t\\303\\251\\n'",  # é split across two writes
        on_output=lambda stream, text: pieces.append(text),
    )
    assert result.stdout == "été\n" and "".join(pieces) == "été\n"
    assert "\ufffd" not in "".join(pieces)
