"""Run CPU-bound tool code in a child process with a real time limit.

A tool that computes holds the GIL: run on the event loop (or in a thread beside it)
it stalls every stream the process serves, and a thread cannot be stopped. A child
process can: it gets ``TOOL_TIME_LIMIT`` seconds and a memory cap, then it is killed.

The function must live in a module that imports only the standard library (the child
starts in isolated mode, without the virtualenv or Django), take one JSON value and
return one. A ``ValueError`` it raises is a refusal whose message goes to the user.
"""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.tools.registry import ToolFailed

_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent.parent)

_CHILD = """
import importlib, json, resource, sys
sys.path.insert(0, sys.argv[1])
limit = int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
function = getattr(importlib.import_module(sys.argv[2]), sys.argv[3])
try:
    result = {"value": function(json.loads(sys.stdin.read()))}
except ValueError as exc:
    result = {"refused": str(exc)}
except MemoryError:
    result = {"refused": "That needs too much memory to compute."}
sys.stdout.write(json.dumps(result))
"""


async def run_isolated(module: str, function: str, argument: Any, *, time_limit: float | None = None) -> Any:
    """``module.function(argument)`` in a child process; :class:`ToolFailed` if it refuses or runs out of time."""
    limit = settings.TOOL_TIME_LIMIT if time_limit is None else time_limit
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-c", _CHILD, _PROJECT_ROOT, module, function, str(settings.TOOL_MEMORY_LIMIT),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        output, _ = await asyncio.wait_for(child.communicate(json.dumps(argument).encode()), timeout=limit)
    except TimeoutError:
        child.kill()
        await child.wait()
        raise ToolFailed(f"The computation took longer than {limit:g} seconds and was stopped.") from None
    except BaseException:
        # A cancelled run must not leave its child computing.
        child.kill()
        raise
    try:
        result = json.loads(output)
    except ValueError:
        raise ToolFailed("The computation failed.") from None
    if "refused" in result:
        raise ToolFailed(result["refused"])
    return result["value"]
