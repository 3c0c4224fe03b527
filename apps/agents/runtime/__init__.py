"""The agent runtime: one package, one loop.

- :mod:`.options`  — :class:`RunOptions`, the typed per-request options each API's edge parses.
- :mod:`.plan`     — the run's plan (prompt, model, limits), resolved once.
- :mod:`.toolset`  — the run's :class:`~apps.tools.toolset.Toolset`, from the tools app's providers and sub-agents.
- :mod:`.retrieval` — the question's passages as numbered sources.
- :mod:`.loop`     — the one loop (chat runs, sub-agents, 001 task steps).
- :mod:`.usage`    — :func:`record_usage`, where every model call's usage is recorded.
- :mod:`.run`      — :func:`agent_run_stream`, the entry point of a chat run.

The conversations app calls :func:`agent_run_stream` in a worker, numbers and keeps the
:class:`~apps.agents.events.AgentEvent` objects it yields, and streams them in each API's format.
"""
from apps.agents.runtime.options import ModelOptions, RunOptions
from apps.agents.runtime.run import PreparedRun, agent_run_stream, prepare_run
from apps.agents.runtime.threads import db_executor
from apps.agents.runtime.usage import record_usage

__all__ = [
    "ModelOptions", "PreparedRun", "RunOptions", "agent_run_stream", "db_executor", "prepare_run", "record_usage",
]
