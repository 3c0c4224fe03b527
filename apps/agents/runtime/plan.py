"""A run's plan: everything it needs, resolved once from the agent, the options and the user."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from apps.agents.defaults import DEFAULT_AGENT_NAME, DEFAULT_MAX_LOOP_COUNT, default_system_prompt
from apps.agents.models import MAX_LOOP_LIMIT
from apps.agents.runtime.options import ModelOptions, RunOptions
from apps.agents.runtime.retrieval import knowledge_base_ids_for
from apps.agents.runtime.toolset import SubAgentRunner, run_toolset
from apps.providers.llm import ChatModel
from apps.providers.selectors import chat_model, model_config_for
from apps.tools.toolset import Toolset

if TYPE_CHECKING:
    from apps.agents.models import Agent


@dataclass
class RunPlan:
    name: str
    system_prompt: str
    model: ChatModel
    toolset: Toolset
    knowledge_base_ids: list[str]
    max_loop_count: int
    multimodal: bool = True
    agent_id: str | None = None


def _prompt(agent: Agent | None, options: RunOptions, *, name: str, deep: bool) -> str:
    prompt = options.system_prefix or (agent.system_prefix if agent else "") or default_system_prompt(
        options.locale or "en", name=name
    )
    context = options.system_context or (agent.system_context if agent else None)
    if context:
        prompt += "\n\nContext:\n" + json.dumps(context, ensure_ascii=False, indent=1)
    if options.locale:
        prompt += f"\n\nAnswer in the user's locale ({options.locale})."
    prompt += f"\n\nCurrent date: {timezone.now():%Y-%m-%d}."
    if options.force_summary:
        prompt += "\n\nEnd your final answer with a short summary headed 'Summary:'."
    if deep:
        # Works with any model: not every OpenAI-compatible server takes a reasoning-effort knob.
        prompt += "\n\nThink the problem through step by step before you give your final answer."
    return prompt


def plan_run(
    *, user: Any, agent: Agent | None, options: RunOptions, run_sub_agent: SubAgentRunner, depth: int = 0
) -> RunPlan:
    """Resolve the run's configuration and toolset (database reads: called on a database thread)."""
    name = options.agent_name or (agent.name if agent else DEFAULT_AGENT_NAME)
    deep = options.deep_thinking if options.deep_thinking is not None else bool(agent and agent.deep_thinking)
    toolset = run_toolset(user=user, agent=agent, options=options, depth=depth, run_sub_agent=run_sub_agent)
    prompt = _prompt(agent, options, name=name, deep=deep)
    if toolset.instructions:
        prompt += "\n\n" + toolset.instructions

    wanted = options.model or ModelOptions()
    config = model_config_for(
        user=user, provider_id=wanted.provider_id, agent_provider=agent.llm_provider if agent else None, model=wanted.model
    )
    if config is not None and (wanted.temperature is not None or wanted.max_tokens):
        config = replace(
            config,
            temperature=wanted.temperature if wanted.temperature is not None else config.temperature,
            max_tokens=wanted.max_tokens or config.max_tokens,
        )
    loops = options.max_loop_count or (agent.max_loop_count if agent else DEFAULT_MAX_LOOP_COUNT)
    return RunPlan(
        name=name,
        system_prompt=prompt,
        model=chat_model(config),
        toolset=toolset,
        knowledge_base_ids=knowledge_base_ids_for(agent=agent, options=options),
        max_loop_count=max(1, min(loops, MAX_LOOP_LIMIT)),
        # A provider row says whether it takes images; the environment's model is the operator's choice.
        multimodal=config is None or config.supports_multimodal or config.provider_id is None,
        agent_id=str(agent.pk) if agent else None,
    )
