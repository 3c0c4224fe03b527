"""Running the agent runtime to its end in a test, and picking its events."""
from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync

from apps.agents.runtime import agent_run_stream


def run(**kwargs: Any) -> list:
    async def collect() -> list:
        return [event async for event in agent_run_stream(**kwargs)]

    return async_to_sync(collect)()


def of_type(events: list, kind: str) -> list[dict]:
    return [event.data for event in events if event.type == kind]
