"""A .pptx deck from an outline, with python-pptx: a title slide, then one slide per section."""
from __future__ import annotations

import io

from apps.studio.engines.writing import Outline

TITLE_LAYOUT, CONTENT_LAYOUT = 0, 1


def build_deck(outline: Outline) -> bytes:
    # python-pptx (with lxml) is imported here, by the task worker that builds a deck, not by
    # every process that loads the studio app: it weighs about 20 MiB.
    from pptx import Presentation
    from pptx.util import Pt

    deck = Presentation()
    cover = deck.slides.add_slide(deck.slide_layouts[TITLE_LAYOUT])
    cover.shapes.title.text = outline.title
    cover.placeholders[1].text = outline.subtitle
    for slide in outline.slides:
        page = deck.slides.add_slide(deck.slide_layouts[CONTENT_LAYOUT])
        page.shapes.title.text = slide.title
        body = page.placeholders[1].text_frame
        for index, bullet in enumerate(slide.bullets):
            paragraph = body.paragraphs[0] if index == 0 else body.add_paragraph()
            paragraph.text = bullet
            paragraph.font.size = Pt(18)
        if slide.notes:
            page.notes_slide.notes_text_frame.text = slide.notes
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()
