"""Slides kept in a sandbox: ``slides/<id>.html`` plus an ordered ``slides/index.json``.

The sandbox may rewrite both files itself (an agent edits its deck with shell commands), so
the index is read defensively: entries without a file are dropped, files without an entry
are appended, anything unparsable counts as an empty index.
"""
from __future__ import annotations

import io
import json
import re
import secrets
from html.parser import HTMLParser

from django.utils import timezone

from apps.core.errors import Invalid, NotFound
from apps.sandboxes import services
from apps.sandboxes.models import Sandbox

INDEX = "slides/index.json"
MAX_SLIDE_BYTES = 2 * 1024 * 1024
_SLIDE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _check_id(slide_id: str) -> str:
    if not _SLIDE_ID.match(slide_id or ""):
        raise NotFound("Slide not found.")
    return slide_id


def _html_names(sandbox: Sandbox) -> list[str]:
    try:
        entries = services.file_list(sandbox=sandbox, path="slides")
    except NotFound:
        return []
    return [entry.name[:-5] for entry in entries if entry.type == "file" and entry.name.endswith(".html")]


def _index(sandbox: Sandbox) -> list[dict]:
    try:
        raw = json.loads(services.file_read(sandbox=sandbox, path=INDEX, max_bytes=MAX_SLIDE_BYTES))
    except (NotFound, Invalid, ValueError):
        raw = []
    present = set(_html_names(sandbox))
    index = [
        item for item in raw if isinstance(raw, list) and isinstance(item, dict)
        and isinstance(item.get("id"), str) and item["id"] in present
    ]
    known = {item["id"] for item in index}
    index += [{"id": name, "title": name} for name in sorted(present - known) if _SLIDE_ID.match(name)]
    return index


def _save_index(sandbox: Sandbox, index: list[dict]) -> None:
    services.file_write(sandbox=sandbox, path=INDEX, data=json.dumps(index, indent=2).encode())


def _shape(item: dict, position: int, content: str | None = None) -> dict:
    out = {
        "id": item["id"], "slide_id": item["id"], "title": str(item.get("title") or item["id"]), "position": position,
        "path": f"slides/{item['id']}.html", "created_at": item.get("created_at"), "updated_at": item.get("updated_at"),
    }
    if content is not None:
        out["content"] = content
    return out


def slide_list(*, sandbox: Sandbox) -> list[dict]:
    return [_shape(item, position) for position, item in enumerate(_index(sandbox))]


def slide_get(*, sandbox: Sandbox, slide_id: str) -> dict:
    _check_id(slide_id)
    for position, item in enumerate(_index(sandbox)):
        if item["id"] == slide_id:
            content = services.file_read(sandbox=sandbox, path=f"slides/{slide_id}.html", max_bytes=MAX_SLIDE_BYTES)
            return _shape(item, position, content.decode("utf-8", "replace"))
    raise NotFound("Slide not found.")


def slide_create(*, sandbox: Sandbox, title: str, content: str, position: int | None = None) -> dict:
    index = _index(sandbox)
    now = timezone.now().isoformat()
    item = {"id": f"slide_{secrets.token_hex(4)}", "title": title, "created_at": now, "updated_at": now}
    services.file_write(sandbox=sandbox, path=f"slides/{item['id']}.html", data=content.encode())
    index.insert(len(index) if position is None else max(0, min(position, len(index))), item)
    _save_index(sandbox, index)
    return slide_get(sandbox=sandbox, slide_id=item["id"])


def slide_update(
    *, sandbox: Sandbox, slide_id: str, title: str | None = None, content: str | None = None, position: int | None = None
) -> dict:
    _check_id(slide_id)
    index = _index(sandbox)
    found = next((item for item in index if item["id"] == slide_id), None)
    if found is None:
        raise NotFound("Slide not found.")
    if content is not None:
        services.file_write(sandbox=sandbox, path=f"slides/{slide_id}.html", data=content.encode())
    if title is not None:
        found["title"] = title
    found["updated_at"] = timezone.now().isoformat()
    if position is not None:
        index.remove(found)
        index.insert(max(0, min(position, len(index))), found)
    _save_index(sandbox, index)
    return slide_get(sandbox=sandbox, slide_id=slide_id)


def slide_delete(*, sandbox: Sandbox, slide_id: str) -> None:
    _check_id(slide_id)
    index = _index(sandbox)
    if not any(item["id"] == slide_id for item in index):
        raise NotFound("Slide not found.")
    services.file_delete(sandbox=sandbox, path=f"slides/{slide_id}.html")
    _save_index(sandbox, [item for item in index if item["id"] != slide_id])


class _Text(HTMLParser):
    """The visible text of a slide: headings and paragraphs/list items as separate lines."""

    BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "div", "br", "tr"}

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.current.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.lines.append(text)
        self.current = []


def slides_pptx(*, sandbox: Sandbox) -> bytes:
    """The deck as one PPTX: a slide per HTML slide, its title and its text."""
    from pptx import Presentation  # python-pptx loads lxml and its templates: only when a deck is exported

    deck = Presentation()
    layout = deck.slide_layouts[1]
    for item in slide_list(sandbox=sandbox):
        html = slide_get(sandbox=sandbox, slide_id=item["id"])["content"]
        parser = _Text()
        parser.feed(html)
        parser._flush()
        slide = deck.slides.add_slide(layout)
        slide.shapes.title.text = item["title"]
        body = slide.placeholders[1].text_frame
        lines = [line for line in parser.lines if line != item["title"]] or [""]
        body.text = lines[0]
        for line in lines[1:]:
            body.add_paragraph().text = line
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()
