"""The run's toolset: the tools app's providers for this user and agent, plus this run's sub-agents."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from apps.agents.runtime.options import RunOptions
from apps.agents.selectors import agents_by_ids
from apps.tools.registry import Tool, ToolContext, ToolResult
from apps.tools.selectors import default_tool_names, toolset_resolve
from apps.tools.toolset import Provision, Toolset, ToolsetRequest

if TYPE_CHECKING:
    from apps.agents.models import Agent

MAX_SUB_AGENT_DEPTH = 2
SUB_AGENT_PREFIX = "agent_"
WEB_TOOL = "http_fetch"
SUB_AGENT_PARAMETERS = {
    "type": "object",
    "properties": {"task": {"type": "string", "description": "What the agent should do."}},
    "required": ["task"],
}


@dataclass(frozen=True)
class SubAgent:
    tool_name: str
    name: str
    description: str
    agent: Agent | None
    options: RunOptions


#: Runs a sub-agent on a task to its answer: ``(sub_agent, task, context, depth) -> result``.
SubAgentRunner = Callable[[SubAgent, str, ToolContext, int], Awaitable[ToolResult]]


def _inline_options(config: dict[str, Any], name: str) -> RunOptions:
    """An inline sub-agent config (AgentConfigDTO or StreamRequest spelling): no tools unless it names some."""
    options = RunOptions.from_request(config)
    return replace(
        options,
        agent_name=name,
        available_tools=options.available_tools if options.available_tools is not None else [],
        available_sub_agent_ids=[],
        custom_sub_agents=[],
    )


def sub_agents_for(*, user: Any, agent: Agent | None, options: RunOptions) -> list[SubAgent]:
    ids = options.available_sub_agent_ids
    if ids is None:
        ids = agent.available_sub_agent_ids if agent else []
    subs = [
        SubAgent(f"{SUB_AGENT_PREFIX}{sub.pk}", sub.name, sub.description, agent=sub, options=RunOptions())
        for sub in agents_by_ids(user=user, agent_ids=ids or [])
        if agent is None or sub.pk != agent.pk
    ]
    for index, config in enumerate(options.custom_sub_agents, start=1):
        name = str(config.get("name") or f"sub-agent {index}")
        subs.append(
            SubAgent(f"{SUB_AGENT_PREFIX}custom_{index}", name, str(config.get("description") or ""),
                     agent=None, options=_inline_options(config, name))
        )
    return subs


def _sub_agent_tool(sub: SubAgent, run_sub_agent: SubAgentRunner, depth: int) -> Tool:
    async def delegate(params: dict[str, Any], context: ToolContext) -> ToolResult:
        return await run_sub_agent(sub, str(params.get("task") or ""), context, depth + 1)

    return Tool(
        name=sub.tool_name,
        description=f"Delegate a task to the agent '{sub.name}'. {sub.description}".strip(),
        function=delegate,
        parameters=SUB_AGENT_PARAMETERS,
        type="agent",
    )


def run_toolset(
    *, user: Any, agent: Agent | None, options: RunOptions, depth: int, run_sub_agent: SubAgentRunner
) -> Toolset:
    """Resolve the toolset once for the run (database reads: called on a database thread)."""
    names = options.available_tools
    if names is None and agent is not None:
        names = list(agent.available_tools or [])
    if options.web_search:
        names = [*(names if names is not None else default_tool_names()), WEB_TOOL]
    skills = options.available_skills
    if skills is None and agent is not None:
        skills = list(agent.available_skills or [])
    request = ToolsetRequest(
        user=user,
        agent_id=str(agent.pk) if agent else None,
        tool_names=names,
        skill_names=skills,
        mcp_servers=options.mcp_servers,
        depth=depth,
    )
    subs = sub_agents_for(user=user, agent=agent, options=options) if depth < MAX_SUB_AGENT_DEPTH else []

    def provide_sub_agents(request: ToolsetRequest) -> Provision:
        return Provision(tools=[_sub_agent_tool(sub, run_sub_agent, depth) for sub in subs])

    return toolset_resolve(request=request, extra_providers=[provide_sub_agents])
