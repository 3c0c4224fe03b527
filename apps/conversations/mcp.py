"""``/mcp/agents/{agent_id}``: one agent as an MCP server, for Claude Desktop, Cursor or another agent.

Two tools (docs/skills-and-mcp.md):

- ``ask`` starts an ordinary run of the signed-in user on the agent (:func:`services.run_start`,
  so the access check, credits and throttles of every run start apply), waits for it in the
  run worker, and hands back the answer with its citations. Usage and credits are recorded
  by the runtime as for any run; the run and its thread show in the user's history.
- ``search_knowledge`` is the agent's retrieval alone: the ranked passages a run of this
  agent would be given, each with its document, page or row, and score.

The endpoint itself (auth, 401/404, the SDK's transport) is :class:`apps.tools.mcp.serving.McpEndpoint`.
"""
from __future__ import annotations

from typing import Any

from apps.agents import selectors as agent_selectors
from apps.agents.models import Agent
from apps.agents.runtime import RunOptions, retrieval
from apps.conversations import services
from apps.conversations.api.relay import events_to_end
from apps.conversations.runner import Outcome
from apps.core.errors import NotFound, ServiceError
from apps.tools.mcp.serving import McpEndpoint, McpTarget, in_thread
from apps.tools.registry import Tool, ToolContext, ToolFailed, ToolResult

PREFIX = "/mcp/agents/"
ENDPOINT = "mcp /mcp/agents/{agent_id}"
MAX_QUESTION_CHARS = 20_000
MAX_TOP_K = 20
#: The run's events an MCP client is told of while it waits (as progress notifications).
PROGRESS_EVENTS = ("status",)


def agent_mcp_path(*, agent: Agent) -> str:
    return f"{PREFIX}{agent.pk}"


def _sources(citations: list[dict[str, Any]]) -> str:
    lines = []
    for number, citation in enumerate(citations, start=1):
        where = f", page {citation['page']}" if citation.get("page") else ""
        where += f", row {citation['row']}" if citation.get("row") is not None else ""
        lines.append(f"[{number}] {citation.get('filename', '')}{where}")
    return "\n\nSources:\n" + "\n".join(lines) if lines else ""


def _ask_tool(agent: Agent) -> Tool:
    async def ask(params: dict[str, Any], context: ToolContext) -> ToolResult:
        try:
            run = await in_thread(
                services.run_start, user=context.user, agent=agent, endpoint=ENDPOINT,
                messages=[{"role": "user", "content": params["question"]}], thread_id=params.get("thread_id") or "",
            )
        except ServiceError as exc:
            raise ToolFailed(exc.message) from exc
        outcome = Outcome()

        async def take(event: dict[str, Any]) -> None:
            outcome.take(event["type"], event["data"])
            if event["type"] in PROGRESS_EVENTS and event["data"].get("content"):
                await context.emit("progress", {"content": str(event["data"]["content"])})

        await events_to_end(run_id=str(run.pk), status=run.status, on_event=take)
        if outcome.status != "completed":
            raise ToolFailed(outcome.error or f"The run ended {outcome.status} before it answered.")
        answer = "".join(outcome.content).strip()
        return ToolResult(
            answer + _sources(outcome.citations),
            artifacts=[{"type": "answer", "answer": answer, "citations": outcome.citations,
                        "thread_id": run.thread_id, "run_id": str(run.pk)}],
        )

    return Tool(
        name="ask",
        description=(
            f"Ask the agent '{agent.name}' a question; it answers with its own tools and knowledge, "
            f"citing its sources as [n]. {agent.description}"
        ).strip(),
        function=ask,
        parameters={
            "type": "object",
            "properties": {
                "question": {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION_CHARS},
                "thread_id": {
                    "type": "string", "maxLength": 100,
                    "description": "Continue an earlier conversation: the thread_id an earlier answer gave.",
                },
            },
            "required": ["question"],
        },
        type="agent",
    )


def _search_tool(agent: Agent) -> Tool:
    def search(user: Any, query: str, top_k: int) -> list[Any]:
        return retrieval.search(
            user=user, query=query, thread_id=None, top_k=top_k,
            knowledge_base_ids=retrieval.knowledge_base_ids_for(agent=agent, options=RunOptions()),
        )

    async def search_knowledge(params: dict[str, Any], context: ToolContext) -> ToolResult:
        chunks = await in_thread(search, context.user, params["query"], params.get("top_k", retrieval.TOP_K))
        if not chunks:
            return ToolResult("Nothing in this agent's knowledge matches the query.")
        passages = []
        for number, (source, chunk) in enumerate(zip(retrieval.sources_of(chunks), chunks, strict=True), start=1):
            passages.append(f"[{number}] {source.title} (score {float(chunk.score):.4f})\n{chunk.content}")
        citations = [{**retrieval.citation(chunk), "content": chunk.content} for chunk in chunks]
        return ToolResult("\n\n".join(passages), artifacts=[{"type": "passages", "passages": citations}])

    return Tool(
        name="search_knowledge",
        description=f"Search the knowledge of the agent '{agent.name}': the best passages of its documents, ranked.",
        function=search_knowledge,
        parameters={
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1, "maxLength": 2000},
                "top_k": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_K},
            },
            "required": ["query"],
        },
        type="agent",
    )


def agent_target(user: Any, agent_id: str) -> McpTarget:
    """The agent's MCP server for ``user``: an agent they may not run now is a 404."""
    agent = agent_selectors.agent_get(user=user, agent_id=agent_id)
    if not agent_selectors.agent_accessible(user=user, agent=agent):
        raise NotFound("Agent not found.")
    return McpTarget(
        name=f"CodexEngine agent: {agent.name}",
        instructions=f"Tools of the CodexEngine agent '{agent.name}'. {agent.description}".strip(),
        tools=[_ask_tool(agent), _search_tool(agent)],
        context=ToolContext(user=user, agent_id=str(agent.pk), endpoint=ENDPOINT),
    )


agent_mcp = McpEndpoint(prefix=PREFIX, resolve=agent_target, id_name="agent_id")
