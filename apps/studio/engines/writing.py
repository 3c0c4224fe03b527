"""What the studio asks a model to write (podcast scripts, slide outlines, prose, prompts), and the
offline writer that does the same from the text itself when no model is configured.

A model's structured answer is validated; a malformed one gets one retry with the reason, then
the job fails with that reason (never a half-parsed script).
"""
from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from apps.core.errors import BadGateway, FailedDependency, ServiceError
from apps.providers.llm import ChatModel, ProviderError
from apps.studio.engines import text as t

HOSTS = ("host_a", "host_b")
MAX_PODCAST_LINES = 40
MAX_SLIDES = 20


class BadModelAnswer(ValueError):
    """The model's answer does not have the shape asked for; the message says why."""


# ------------------------------------------------------------------------------
# Podcast scripts
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScriptLine:
    speaker: str
    text: str


PODCAST_PROMPT = (
    "You write scripts for a two-host podcast. Turn the content the user sends into a lively dialogue "
    "between host_a and host_b who take turns. Answer with JSON lines only: one JSON object per line, "
    'exactly {"speaker": "host_a" or "host_b", "text": "..."}; no other text, no code fences. '
    f"At most {MAX_PODCAST_LINES} lines."
)


def parse_script(answer: str) -> list[ScriptLine]:
    lines = []
    for number, raw in enumerate(_strip_fences(answer).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BadModelAnswer(f"line {number} is not JSON ({exc.msg})") from exc
        if not isinstance(item, dict) or item.get("speaker") not in HOSTS:
            raise BadModelAnswer(f'line {number} needs "speaker" to be host_a or host_b')
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadModelAnswer(f'line {number} needs a non-empty "text"')
        lines.append(ScriptLine(item["speaker"], text.strip()))
    if not lines:
        raise BadModelAnswer("the script has no lines")
    return lines[:MAX_PODCAST_LINES]


def offline_script(content: str) -> list[ScriptLine]:
    """Two hosts alternating over the content's key sentences, with an opening and a closing."""
    title = t.title_of(content)
    key = [s for s in t.key_sentences(content, limit=MAX_PODCAST_LINES - 2) if s != title]
    lines = [ScriptLine("host_a", f"Welcome to the show. Today we are talking about {title.rstrip('.')}.")]
    for index, sentence in enumerate(key):
        lines.append(ScriptLine(HOSTS[(index + 1) % 2], sentence))
    closer = HOSTS[(len(key) + 1) % 2]
    lines.append(ScriptLine(closer, "That is all for today. Thanks for listening."))
    return lines


# ------------------------------------------------------------------------------
# Slide outlines
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slide:
    title: str
    bullets: tuple[str, ...]
    notes: str = ""


@dataclass(frozen=True)
class Outline:
    title: str
    subtitle: str
    slides: tuple[Slide, ...]


OUTLINE_PROMPT = (
    "You turn a report into a slide deck outline. Answer with one JSON object only, no code fences: "
    '{"title": "...", "subtitle": "...", "slides": [{"title": "...", "bullets": ["...", ...], "notes": "..."}]}. '
    f"Three to six short bullets a slide, at most {MAX_SLIDES} slides. Write in the language of locale {{locale}}."
)


def parse_outline(answer: str) -> Outline:
    try:
        data = json.loads(_strip_fences(answer))
    except json.JSONDecodeError as exc:
        raise BadModelAnswer(f"the outline is not JSON ({exc.msg})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("title"), str) or not data["title"].strip():
        raise BadModelAnswer('the outline needs a "title"')
    raw_slides = data.get("slides")
    if not isinstance(raw_slides, list) or not raw_slides:
        raise BadModelAnswer('the outline needs a non-empty "slides" list')
    slides = []
    for number, item in enumerate(raw_slides[:MAX_SLIDES], start=1):
        if not isinstance(item, dict) or not isinstance(item.get("title"), str) or not item["title"].strip():
            raise BadModelAnswer(f'slide {number} needs a "title"')
        bullets = item.get("bullets", [])
        if not isinstance(bullets, list) or not all(isinstance(b, str) for b in bullets):
            raise BadModelAnswer(f'slide {number} needs "bullets" as a list of strings')
        notes = item.get("notes", "")
        slides.append(Slide(item["title"].strip(), tuple(b.strip() for b in bullets if b.strip()),
                            notes if isinstance(notes, str) else ""))
    subtitle = data.get("subtitle", "")
    return Outline(data["title"].strip(), subtitle if isinstance(subtitle, str) else "", tuple(slides))


def offline_outline(content: str) -> Outline:
    """Headings become slides with their key sentences as bullets; unheaded text is split in fives."""
    parts = t.sections(content)
    title = t.title_of(content)
    if parts and parts[0].heading == title:
        intro = parts.pop(0).body
    else:
        intro = []
    slides = []
    for section in parts:
        body = t.key_sentences(" ".join(section.body), limit=5) if section.body else []
        if section.heading:
            slides.append(Slide(section.heading, tuple(body), notes=" ".join(section.body)))
        else:
            intro.extend(section.body)
    if intro and not slides:
        for start in range(0, min(len(intro), 5 * MAX_SLIDES), 5):
            chunk = intro[start : start + 5]
            slides.append(Slide(_short(chunk[0]), tuple(chunk), notes=" ".join(chunk)))
        intro = []
    subtitle = _short(intro[0], 120) if intro else ""
    if not slides:
        slides.append(Slide(title, (), ""))
    return Outline(title, subtitle, tuple(slides[:MAX_SLIDES]))


# ------------------------------------------------------------------------------
# Prose and prompts
# ------------------------------------------------------------------------------
PROSE_OPTIONS = ("continue", "improve", "shorter", "longer", "fix", "zap")
PROSE_PROMPTS = {
    "continue": "Continue the text the user sends, in the same voice. Write only the continuation.",
    "improve": "Improve the text the user sends: clearer, better flow, same meaning. Answer with the new text only.",
    "shorter": "Make the text the user sends shorter, keeping its key points. Answer with the new text only.",
    "longer": "Make the text the user sends longer, expanding on its points. Answer with the new text only.",
    "fix": "Fix the spelling and grammar of the text the user sends. Answer with the corrected text only.",
    "zap": "Apply the user's command to the text. Answer with the result only.",
}
ENHANCE_PROMPT = (
    "You improve prompts for AI assistants. Rewrite the user's prompt to be specific and complete: the goal, "
    "the context, the requirements and the expected output. Answer with the improved prompt only."
)


def _tidy(text: str) -> str:
    """Whitespace collapsed, doubled words and spaces before punctuation removed, sentences capitalised."""
    text = re.sub(r"[ \t]+", " ", text.strip())
    text = re.sub(r"\b(\w+)( \1\b)+", r"\1", text, flags=re.IGNORECASE)
    text = re.sub(r" +([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?=\w)", r"\1 ", text)
    text = re.sub(r"\bi\b", "I", text)
    text = re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    if text and text[-1].isalnum():
        text += "."
    return text


def offline_prose(prompt: str, *, option: str, command: str = "") -> str:
    """Rule-based editing: what a prose editor can do without a language model."""
    if option == "zap":
        wanted = command.lower()
        option = next((name for name in ("shorter", "longer", "fix", "continue") if name in wanted), "improve")
        if any(word in wanted for word in ("summar", "condense", "brief")):
            option = "shorter"
    tidy = _tidy(prompt)
    if option in ("improve", "fix"):
        return tidy
    if option == "shorter":
        kept = t.key_sentences(tidy, limit=max(1, len(t.sentences(tidy)) // 2))
        return " ".join(kept) or tidy
    key = t.key_sentences(tidy, limit=3)
    terms = [w for w in t.words(tidy) if w not in t.STOPWORDS and len(w) > 3]
    focus = max(set(terms), key=lambda w: (terms.count(w), w)) if terms else "this"
    if option == "longer":
        extra = " ".join(f"In other words, {_lower_first(s)}" for s in key[:2])
        return f"{tidy} {extra} This matters because {focus} shapes everything that follows."
    last = key[-1] if key else tidy
    return f"Building on this, the next question is what {focus} means in practice. {last}"


def offline_enhanced_prompt(prompt: str, *, context: str = "") -> str:
    tidy = _tidy(prompt)
    terms = sorted({w for w in t.words(tidy) if w not in t.STOPWORDS and len(w) > 3})
    lines = [f"Task: {tidy}"]
    if context.strip():
        lines.append(f"Context: {_tidy(context)}")
    lines.append("Requirements:")
    if terms:
        lines.append(f"- Cover these points explicitly: {', '.join(terms[:8])}.")
    lines.extend([
        "- State any assumptions you make.",
        "- Prefer concrete examples and figures over generalities.",
        "Output: a structured answer with short headings, ending with a brief summary.",
    ])
    return "\n".join(lines)


# ------------------------------------------------------------------------------
# Calling a model
# ------------------------------------------------------------------------------
def model_failed(model: ChatModel, exc: ProviderError) -> ServiceError:
    """A 424 when the model is a provider a user configured (its URL or key is theirs to fix),
    a 502 when it is the installation's own (LLM_BASE_URL)."""
    if model.provider_id is not None:
        return FailedDependency(f"Your model provider failed: {exc.message} Check its base URL, key and model.",
                                code="provider_failed")
    return BadGateway(f"The model failed: {exc.message}")


async def ask(model: ChatModel, system: str, user: str, *, max_tokens: int | None = None) -> str:
    try:
        return await model.complete([{"role": "system", "content": system}, {"role": "user", "content": user}],
                                    max_tokens=max_tokens)
    except ProviderError as exc:
        raise model_failed(model, exc) from exc


async def ask_structured(model: ChatModel, system: str, user: str, parse: Any) -> Any:
    """``parse(answer)``; on a malformed answer, one retry that tells the model what was wrong."""
    answer = await ask(model, system, user)
    try:
        return parse(answer)
    except BadModelAnswer as first:
        retry = (f"{user}\n\nYour previous answer was invalid: {first}. "
                 "Answer again with exactly the format asked for.")
        answer = await ask(model, system, retry)
        try:
            return parse(answer)
        except BadModelAnswer as second:
            message = f"The model's answer was invalid twice: {second}."
            if model.provider_id is not None:  # a user's own provider and model: theirs to change
                raise FailedDependency(message, code="provider_failed") from second
            raise BadGateway(message) from second


async def stream_text(model: ChatModel, system: str, user: str) -> AsyncIterator[str]:
    try:
        async for chunk in model.stream([{"role": "system", "content": system}, {"role": "user", "content": user}]):
            if chunk.kind == "content" and chunk.text:
                yield chunk.text
    except ProviderError as exc:
        raise model_failed(model, exc) from exc


def _strip_fences(answer: str) -> str:
    answer = answer.strip()
    fenced = re.match(r"^```[\w-]*\n(.*)\n```$", answer, flags=re.DOTALL)
    return fenced.group(1) if fenced else answer


def _lower_first(sentence: str) -> str:
    return sentence if sentence.startswith("I ") else sentence[0].lower() + sentence[1:]


def _short(sentence: str, limit: int = 60) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 3].rsplit(" ", 1)[0] + "..."
