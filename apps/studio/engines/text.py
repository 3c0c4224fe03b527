"""Plain-text helpers the offline engines share: sentences, headings, key sentences."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_WORD = re.compile(r"[A-Za-zÀ-ÿ0-9']+")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have in is it its of on or that the this to was were will with"
    " we you they our their he she his her not no so if then than which who what when where how also can may".split()
)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def sentences(text: str) -> list[str]:
    """Sentences of prose; bullets count as sentences of their own, headings are left out."""
    found: list[str] = []
    text = "\n".join("" if _HEADING.match(line) else line for line in text.splitlines())
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:#|[-*+•]\s|\d+[.)]\s))", text):
        block = _BULLET.sub("", block.strip()).lstrip("#").strip()
        block = re.sub(r"\s+", " ", block)
        if block:
            found.extend(piece.strip() for piece in _SENTENCE_END.split(block) if piece.strip())
    return found


def key_sentences(text: str, *, limit: int) -> list[str]:
    """The ``limit`` sentences that carry the most of the text's frequent words, in their order."""
    candidates = [s for s in sentences(text) if len(words(s)) >= 3]
    if len(candidates) <= limit:
        return candidates
    frequency = Counter(w for w in words(text) if w not in STOPWORDS and len(w) > 2)

    def score(sentence: str) -> float:
        terms = [w for w in words(sentence) if w in frequency]
        return sum(frequency[w] for w in set(terms)) / (len(words(sentence)) ** 0.5)

    ranked = sorted(range(len(candidates)), key=lambda i: (-score(candidates[i]), i))[:limit]
    return [candidates[i] for i in sorted(ranked)]


def title_of(text: str) -> str:
    """The first heading, else the first sentence cut short."""
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            return match.group(2).strip()
    first = next(iter(sentences(text)), "Untitled")
    return first if len(first) <= 80 else first[:77].rsplit(" ", 1)[0] + "..."


@dataclass
class Section:
    heading: str
    body: list[str] = field(default_factory=list)


def sections(text: str) -> list[Section]:
    """Markdown-ish sections: each heading with the sentences under it (the first heading is the title)."""
    found: list[Section] = []
    current: Section | None = None
    buffer: list[str] = []

    def close() -> None:
        if current is not None:
            current.body.extend(sentences("\n".join(buffer)))

    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            close()
            buffer = []
            current = Section(heading=match.group(2).strip())
            found.append(current)
        else:
            if current is None:
                current = Section(heading="")
                found.append(current)
            buffer.append(line)
    close()
    return [section for section in found if section.heading or section.body]
