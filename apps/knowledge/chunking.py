"""Split parsed sections into overlapping chunks that remember their page, row and offsets."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from apps.knowledge.parsing import Section

#: Tried in order: paragraphs, lines, sentences, words, then characters.
SEPARATORS: tuple[str, ...] = ("\n\n", "\n", ". ", " ", "")


@dataclass(frozen=True)
class ChunkDraft:
    content: str
    metadata: dict = field(default_factory=dict)


def _split(text: str, separators: Sequence[str], size: int) -> list[str]:
    """Pieces of ``text`` no longer than ``size``, cut at the coarsest separator that works."""
    if len(text) <= size:
        return [text]
    separator, rest = separators[0], separators[1:]
    if separator == "":
        return [text[i : i + size] for i in range(0, len(text), size)]
    parts = text.split(separator)
    pieces: list[str] = []
    for index, part in enumerate(parts):
        # Keep the separator on the piece so offsets add up to the original text.
        piece = part + separator if index < len(parts) - 1 else part
        if len(piece) <= size:
            pieces.append(piece)
        else:
            pieces.extend(_split(piece, rest, size))
    return pieces


def split_text(text: str, *, chunk_size: int = 1000, chunk_overlap: int = 200) -> list[tuple[int, int]]:
    """Recursive splitting as ``(start, end)`` spans of ``text``; neighbours share ~``chunk_overlap`` chars."""
    if chunk_overlap >= chunk_size:
        raise ValueError("chunk_overlap must be smaller than chunk_size")
    pieces = _split(text, SEPARATORS, chunk_size)
    spans: list[tuple[int, int]] = []
    offsets: list[tuple[int, int]] = []
    position = 0
    for piece in pieces:
        offsets.append((position, position + len(piece)))
        position += len(piece)
    window: list[tuple[int, int]] = []
    for start, end in offsets:
        if window and end - window[0][0] > chunk_size:
            spans.append((window[0][0], window[-1][1]))
            # Drop pieces from the front until what is left fits in the overlap.
            while window and (window[-1][1] - window[0][0] > chunk_overlap or end - window[0][0] > chunk_size):
                window.pop(0)
        window.append((start, end))
    if window:
        spans.append((window[0][0], window[-1][1]))
    return [(start, end) for start, end in spans if text[start:end].strip()]


def chunk_sections(sections: Sequence[Section], *, chunk_size: int = 1000, chunk_overlap: int = 200) -> list[ChunkDraft]:
    """Chunks of every section; a CSV row or JSON record stays one chunk, as retrieval cites it by row."""
    drafts: list[ChunkDraft] = []
    for section in sections:
        if section.row is not None:
            drafts.append(ChunkDraft(section.text, {"row": section.row, "start": 0, "end": len(section.text)}))
            continue
        for start, end in split_text(section.text, chunk_size=chunk_size, chunk_overlap=chunk_overlap):
            metadata: dict = {"start": start, "end": end}
            if section.page is not None:
                metadata["page"] = section.page
            drafts.append(ChunkDraft(section.text[start:end].strip(), metadata))
    return drafts
