"""Writes to agents and their grants, and the model-drafted configs and prompts."""
from __future__ import annotations

import json
import re
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import transaction

from apps.accounts.selectors.users import users_shareable_with
from apps.agents.models import Agent, AgentGrant
from apps.core.errors import Invalid, NotFound
from apps.providers.llm import ProviderError
from apps.providers.models import LLMProvider
from apps.providers.selectors import chat_model, model_config_for, provider_get
from apps.tools.registry import all_tools, get_tool

AGENT_FIELDS = (
    "name", "description", "system_prefix", "system_context", "available_workflows", "available_tools",
    "available_sub_agent_ids", "available_skills", "available_knowledge_bases", "memory_type", "max_loop_count",
    "deep_thinking", "enable_multimodal", "multi_agent", "agent_mode",
)
_MISSING = object()


def _provider(owner: Any, provider_id: Any) -> LLMProvider | None:
    if not provider_id:
        return None
    try:
        return provider_get(user=owner, provider_id=provider_id)
    except NotFound as exc:
        raise Invalid("Unknown LLM provider.", field_errors={"llm_provider_id": ["Unknown provider."]}) from exc


def _apply(agent: Agent, fields: dict[str, Any]) -> None:
    for name in AGENT_FIELDS:
        if name in fields:
            setattr(agent, name, fields[name])
    provider_id = fields.get("llm_provider_id", _MISSING)
    if provider_id is not _MISSING:
        agent.llm_provider = _provider(agent.owner, provider_id)


@transaction.atomic
def agent_create(*, owner: Any, **fields: Any) -> Agent:
    agent = Agent(owner=owner)
    _apply(agent, fields)
    agent.full_clean()
    agent.save()
    return agent


@transaction.atomic
def agent_update(*, agent: Agent, **fields: Any) -> Agent:
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    _apply(agent, fields)
    agent.full_clean()
    agent.save()
    return agent


@transaction.atomic
def agent_delete(*, agent: Agent) -> None:
    agent.delete()


@transaction.atomic
def agent_grants_set(*, agent: Agent, user_ids: list[Any]) -> list[AgentGrant]:
    """Share ``agent`` with exactly ``user_ids`` (the owner never needs a grant).

    Each new grantee must be visible to the owner (``users_shareable_with``); an invisible account
    answers exactly like one that does not exist. Existing grants stay as they are.
    """
    wanted = {str(value) for value in user_ids}
    ids = [value for value in wanted if _is_uuid(value)]
    existing_ids = set(AgentGrant.objects.filter(agent=agent).values_list("user_id", flat=True))
    visible = users_shareable_with(actor=agent.owner).filter(pk__in=ids)
    users = list(visible | get_user_model().objects.filter(pk__in=[pk for pk in existing_ids if str(pk) in wanted]))
    users = list({user.pk: user for user in users}.values())
    unknown = wanted - {str(user.pk) for user in users} - {str(agent.owner_id)}
    if unknown:
        raise Invalid("Unknown users.", field_errors={"user_ids": [f"Unknown user: {value}" for value in sorted(unknown)]})
    users = [user for user in users if user.pk != agent.owner_id]
    AgentGrant.objects.filter(agent=agent).exclude(user__in=users).delete()
    existing = set(AgentGrant.objects.filter(agent=agent).values_list("user_id", flat=True))
    AgentGrant.objects.bulk_create([AgentGrant(agent=agent, user=user) for user in users if user.pk not in existing])
    return list(agent.grants.select_related("user"))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------
# Drafting configs and prompts: the configured model, or a deterministic template offline
# ------------------------------------------------------------------------------
_TOOL_HINTS = {
    "calculator": r"\b(calculat|math|arithmetic|numbers?|budget|financ|account)",
    "current_time": r"\b(time|date|schedul|calendar|deadline|remind)",
    "http_fetch": r"\b(web|url|site|page|fetch|internet|online|research|news)",
}
_FILLER = frozenset("a an the that who which and or for to of with in on helps help me my our your is are be i".split())


def _offline_draft(description: str, available_tools: list[str]) -> dict[str, Any]:
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9-]+", description) if w.lower() not in _FILLER]
    name = " ".join(word.capitalize() for word in words[:3]) or "Custom"
    name = f"{name} Agent"[:200]
    offered = [name_ for name_ in available_tools if get_tool(name_)] if available_tools else []
    if not available_tools:
        offered = [tool for tool, pattern in _TOOL_HINTS.items() if re.search(pattern, description, re.I)]
    lines = [
        f"You are {name}. {description.strip()}",
        "",
        "Guidelines:",
        "- Understand the request before answering; ask a short question when it is ambiguous.",
        "- Be accurate and concise, and say so when you are not sure.",
    ]
    if offered:
        lines.append(f"- Use your tools ({', '.join(offered)}) when they give a better answer than memory.")
    return {
        "name": name,
        "description": description.strip()[:1000],
        "systemPrefix": "\n".join(lines),
        "availableTools": offered,
        "availableSubAgentIds": [],
        "availableSkills": [],
        "availableKnowledgeBases": [],
        "memoryType": "session",
        "maxLoopCount": 10,
        "deepThinking": False,
        "enableMultimodal": False,
        "multiAgent": False,
        "agentMode": "default",
    }


def _json_object(text: str) -> dict[str, Any] | None:
    match = re.search(r"\{.*\}", text, re.S)
    if not match:
        return None
    try:
        value = json.loads(match.group(0))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def agent_auto_generate(*, user: Any, agent_description: str, available_tools: list[str]) -> dict[str, Any]:
    """A draft AgentConfigDTO from a description: the model writes it; offline, a template does."""
    draft = _offline_draft(agent_description, available_tools)
    config = await sync_to_async(model_config_for)(user=user)
    if config is None:
        return {**draft, "generated_by": "offline"}
    tools = [tool for tool in all_tools() if not available_tools or tool.name in available_tools]
    prompt = (
        "Draft an AI agent configuration as one JSON object with the keys name (short), description, "
        "systemPrefix (a complete system prompt) and availableTools (a subset of the tools listed). "
        "Answer with the JSON only.\n\n"
        f"Agent description: {agent_description}\n\nTools:\n"
        + "\n".join(f"- {tool.name}: {tool.description}" for tool in tools)
    )
    try:
        reply = await chat_model(config).complete([{"role": "user", "content": prompt}])
    except ProviderError as exc:
        raise Invalid(f"The model could not draft an agent: {exc.message}") from exc
    drafted = _json_object(reply) or {}
    allowed = {tool.name for tool in tools}
    name = drafted.get("name")
    if isinstance(name, str) and name.strip():
        draft["name"] = name.strip()[:200]
    if isinstance(drafted.get("systemPrefix"), str) and drafted["systemPrefix"].strip():
        draft["systemPrefix"] = drafted["systemPrefix"].strip()
    if isinstance(drafted.get("description"), str) and drafted["description"].strip():
        draft["description"] = drafted["description"].strip()[:1000]
    if isinstance(drafted.get("availableTools"), list):
        draft["availableTools"] = [t for t in drafted["availableTools"] if isinstance(t, str) and t in allowed]
    return {**draft, "generated_by": "model" if drafted else "offline"}


def _offline_optimized(original: str, goal: str) -> str:
    text = re.sub(r"[ \t]+", " ", original.strip())
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
    role = sentences[0] if sentences else "You are a helpful assistant."
    rules = sentences[1:]
    lines = [role, ""]
    if goal.strip():
        lines += [f"Goal: {goal.strip()}", ""]
    if rules:
        lines += ["Instructions:", *(f"- {rule}" for rule in rules), ""]
    lines += ["Quality bar:", "- Be accurate, specific and concise.", "- Say plainly when you are unsure."]
    return "\n".join(lines)


async def agent_prompt_optimize(*, user: Any, original_prompt: str, optimization_goal: str) -> dict[str, Any]:
    config = await sync_to_async(model_config_for)(user=user)
    if config is None:
        optimized = _offline_optimized(original_prompt, optimization_goal)
        source = "offline"
    else:
        request = (
            "Rewrite this system prompt for an AI agent so it is clearer and more effective. "
            f"Optimization goal: {optimization_goal or 'clarity'}. Answer with the improved prompt only.\n\n"
            f"---\n{original_prompt}\n---"
        )
        try:
            optimized = (await chat_model(config).complete([{"role": "user", "content": request}])).strip()
        except ProviderError as exc:
            raise Invalid(f"The model could not optimize the prompt: {exc.message}") from exc
        source = "model"
        optimized = optimized or _offline_optimized(original_prompt, optimization_goal)
    return {"optimized_prompt": optimized, "original_prompt": original_prompt,
            "optimization_goal": optimization_goal, "generated_by": source}
