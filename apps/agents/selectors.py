"""Reads of agents, scoped to who asks: their own agents and those granted to them."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet

from apps.agents.defaults import DEFAULT_AGENT_NAME, DEFAULT_MAX_LOOP_COUNT, default_system_prompt
from apps.agents.models import Agent, AgentGrant
from apps.core.errors import Invalid, NotFound
from apps.providers.offline import OFFLINE_MODEL_NAME
from apps.providers.selectors import available_models, model_config_for
from apps.tools.registry import all_tools


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def agent_list(*, user: Any) -> QuerySet[Agent]:
    return (
        Agent.objects.filter(Q(owner=user) | Q(grants__user=user))
        .distinct()
        .select_related("llm_provider", "owner")
    )


def agent_get(*, user: Any, agent_id: Any) -> Agent:
    """An agent the user may see and run; anyone else's is 404."""
    pk = _uuid(agent_id)
    agent = agent_list(user=user).filter(pk=pk).first() if pk else None
    if agent is None:
        raise NotFound("Agent not found.")
    return agent


def agent_for_model(*, user: Any, model: str) -> Agent:
    """The agent an OpenAI-style ``model`` names: its id, or its name if exactly one visible agent has it."""
    agents = agent_list(user=user)
    pk = _uuid(model)
    agent = agents.filter(pk=pk).first() if pk else None
    if agent is not None:
        return agent
    named = list(agents.filter(name=model)[:2])
    if len(named) == 1:
        return named[0]
    if named:
        message = f"Several of your agents are named '{model}'; use the agent's id as the model."
        raise Invalid(message, field_errors={"model": [message]}, code="model_ambiguous")
    message = f"The model '{model}' does not exist or you do not have access to it."
    raise NotFound(message, field_errors={"model": [message]}, code="model_not_found")


def agent_get_owned(*, user: Any, agent_id: Any) -> Agent:
    """An agent the user may change: only its owner may (a grantee gets 404, not a hint)."""
    pk = _uuid(agent_id)
    agent = Agent.objects.filter(owner=user, pk=pk).select_related("llm_provider").first() if pk else None
    if agent is None:
        raise NotFound("Agent not found.")
    return agent


def agent_accessible(*, user: Any, agent: Agent) -> bool:
    """Whether ``user`` may run ``agent`` now: its owner, or a grantee whose grant still exists.

    Checked at every run start (in the request and again in the worker), because a thread
    keeps its agent after the owner revokes the grant.
    """
    return agent.owner_id == user.pk or AgentGrant.objects.filter(agent_id=agent.pk, user_id=user.pk).exists()


def agent_grant_list(*, agent: Agent) -> QuerySet[AgentGrant]:
    return agent.grants.select_related("user")


def agents_by_ids(*, user: Any, agent_ids: list[str]) -> list[Agent]:
    """The visible agents among ``agent_ids``, in the given order; unknown ids are skipped."""
    pks = [pk for pk in (_uuid(value) for value in agent_ids) if pk]
    if not pks:  # most runs name no sub-agents: no query to build
        return []
    found = {agent.pk: agent for agent in agent_list(user=user).filter(pk__in=pks)}
    return [found[pk] for pk in pks if pk in found]


def agent_configuration(*, user: Any) -> dict[str, Any]:
    """003's agent configuration: the models and tools the user can use, and the default agent."""
    tools = all_tools()
    config = model_config_for(user=user)
    return {
        "models": available_models(user=user),
        "tools": [{"name": tool.name, "description": tool.description, "type": tool.type} for tool in tools],
        "default_agent": {
            "name": DEFAULT_AGENT_NAME,
            "system_prompt": default_system_prompt("en"),
            "max_loop_count": DEFAULT_MAX_LOOP_COUNT,
            "deep_thinking": False,
            "tools": [tool.name for tool in tools if tool.type == "builtin"],
            "model": config.model if config else OFFLINE_MODEL_NAME,
        },
        "offline": config is None,
    }
