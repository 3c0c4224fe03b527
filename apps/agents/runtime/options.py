"""One typed form of a run's per-request options, whichever API started it.

Each API's view turns its request body into a :class:`RunOptions` (camelCase or
snake_case, overrides included); the run stores :meth:`RunOptions.to_json` in
``AgentRun.options`` and the worker reads it back with :meth:`RunOptions.from_json`.
Domain code never sees which API asked. Unknown or ill-typed fields are ignored:
the serializers at the edge already answered 400 for what a client must fix.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from apps.agents.models import MAX_LOOP_LIMIT

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _snake(key: str) -> str:
    return _CAMEL.sub(lambda match: "_" + match.group(1).lower(), key)


def _strings(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [str(item) for item in value if isinstance(item, (str, int)) and not isinstance(item, bool) and str(item)]


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def normalise_keys(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with camelCase keys spelled snake_case (a snake_case key wins when both are given)."""
    normalised = {_snake(key): value for key, value in body.items() if isinstance(key, str) and _snake(key) != key}
    normalised.update({key: value for key, value in body.items() if isinstance(key, str) and _snake(key) == key})
    return normalised


@dataclass(frozen=True)
class ModelOptions:
    """Which provider and model, and sampling settings (002's ``llm_model_config``, 004's ``model_name``)."""

    provider_id: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None

    @classmethod
    def from_request(cls, raw: Any) -> ModelOptions | None:
        if not isinstance(raw, dict):
            return None
        raw = normalise_keys(raw)
        temperature = raw.get("temperature")
        max_tokens = _int(raw.get("max_tokens"))
        options = cls(
            provider_id=_text(raw.get("provider_id") or raw.get("llm_provider_id") or raw.get("provider")),
            model=_text(raw.get("model") or raw.get("model_name")),
            temperature=float(temperature)
            if isinstance(temperature, (int, float)) and not isinstance(temperature, bool) and 0 <= temperature <= 2
            else None,
            max_tokens=max_tokens if max_tokens and max_tokens > 0 else None,
        )
        return options if options != cls() else None


@dataclass(frozen=True)
class RunOptions:
    """Per-request overrides of the saved agent config; ``None`` means "as the agent says"."""

    agent_name: str | None = None
    system_prefix: str | None = None
    system_context: dict[str, Any] | None = None
    locale: str | None = None
    available_tools: list[str] | None = None
    available_skills: list[str] | None = None
    available_knowledge_bases: list[str] | None = None
    available_sub_agent_ids: list[str] | None = None
    custom_sub_agents: list[dict[str, Any]] = field(default_factory=list)
    #: MCP servers for this request only (002 ``extra_mcp_config``, 003 ``mcp_settings``), as sent.
    mcp_servers: dict[str, Any] | None = None
    max_loop_count: int | None = None
    deep_thinking: bool | None = None
    force_summary: bool = False
    #: Adds the web tool to whatever tools the run has (003 ``enable_web_search``).
    web_search: bool = False
    model: ModelOptions | None = None
    #: The caller's id for its own end user (OpenAI's ``user``), kept with the run for the record.
    end_user: str | None = None

    @classmethod
    def from_request(cls, body: Any) -> RunOptions:
        """The options of a 002/003/004 request body or of an inline agent config (AgentConfigDTO)."""
        if not isinstance(body, dict):
            return cls()
        body = normalise_keys(body)
        tools = _strings(body.get("available_tools"))
        knowledge = _strings(body.get("available_knowledge_bases"))
        resources = body.get("resources")
        if isinstance(resources, list):
            # 003 resources name knowledge bases by id (or ``uri``).
            ids = [str(r.get("id") or r.get("uri") or "") if isinstance(r, dict) else str(r) for r in resources]
            knowledge = [*(knowledge or []), *(value for value in ids if value)]
        loops = _int(body.get("max_loop_count"))
        deep = body.get("deep_thinking", body.get("enable_deep_thinking", body.get("enable_thinking")))
        context = body.get("system_context")
        mcp = body.get("mcp_servers", body.get("extra_mcp_config", body.get("mcp_settings")))
        model = body.get("model")
        if not isinstance(model, dict):
            model = body.get("llm_model_config") or ({"model": body["model_name"]} if body.get("model_name") else None)
        return cls(
            agent_name=_text(body.get("agent_name")),
            system_prefix=_text(body.get("system_prefix")),
            system_context=context if isinstance(context, dict) and context else None,
            locale=_text(body.get("locale")),
            available_tools=list(dict.fromkeys(tools)) if tools is not None else None,
            available_skills=_strings(body.get("available_skills")),
            available_knowledge_bases=knowledge,
            available_sub_agent_ids=_strings(body.get("available_sub_agent_ids")),
            custom_sub_agents=_objects(body.get("custom_sub_agents")),
            mcp_servers=mcp if isinstance(mcp, dict) and mcp else None,
            max_loop_count=max(1, min(loops, MAX_LOOP_LIMIT)) if loops is not None else None,
            deep_thinking=deep if isinstance(deep, bool) else None,
            force_summary=body.get("force_summary") is True,
            web_search=body.get("enable_web_search", body.get("web_search")) is True,
            model=ModelOptions.from_request(model),
            end_user=_text(body.get("end_user")),
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form: only what was set, in the spelling :meth:`from_json` reads back."""
        defaults = asdict(RunOptions())
        return {key: value for key, value in asdict(self).items() if value != defaults[key]}

    @classmethod
    def from_json(cls, stored: Any) -> RunOptions:
        # The stored form is a valid request body, so one tolerant parser reads both.
        return cls.from_request(stored)
