"""The default agent: its name, loop budget and system prompt when a run names no agent."""
from __future__ import annotations

DEFAULT_AGENT_NAME = "CodexEngine"
DEFAULT_MAX_LOOP_COUNT = 10

DEFAULT_SYSTEM_PROMPTS = {
    "en": (
        "You are {name}, a helpful, careful assistant. Answer clearly and concisely. "
        "Use the tools you are given when they help, and say so when you are not sure. "
        "When sources are provided, ground your answer in them and cite them as [n]."
    ),
    "zh": (
        "你是 {name}，一个认真、乐于助人的助手。请清晰、简洁地回答。"
        "在有帮助时使用提供的工具；不确定时请直说。提供了资料时，请依据资料作答并以 [n] 标注引用。"
    ),
}


def default_system_prompt(language: str = "en", *, name: str = DEFAULT_AGENT_NAME) -> str:
    key = (language or "en").lower().split("-")[0].split("_")[0]
    return DEFAULT_SYSTEM_PROMPTS.get(key, DEFAULT_SYSTEM_PROMPTS["en"]).format(name=name)
