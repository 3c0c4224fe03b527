"""The one place where a model call's token usage is recorded.

Every model call of every run (chat runs, their sub-agents, 001 task steps) ends
here, once per call and never per token. Billing charges credits from this hook.
"""
from __future__ import annotations

from typing import Any

from apps.agents.events import AgentEvent
from apps.agents.runtime.threads import in_db
from apps.billing.services import usage_charge
from apps.providers.llm import ChatModel, Usage
from apps.providers.services import usage_record_add


async def record_usage(
    *,
    user: Any,
    model: ChatModel,
    usage: Usage,
    run_id: str | None,
    session_id: str | None,
    endpoint: str,
) -> AgentEvent:
    """Keep the usage of one model call and return the ``usage`` event that reports it."""
    record = await usage_record_add(
        user=user, provider_id=model.provider_id, model=model.model_name, usage=usage,
        run_id=run_id, session_id=session_id, endpoint=endpoint,
    )
    # Priced and charged once per call (with billing off, or on the user's own key, nothing is).
    await in_db(usage_charge, usage=record)
    return AgentEvent(
        "usage",
        {
            "model": model.model_name,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_tokens": usage.cached_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
        },
    )
