"""The recursive splitter and per-type chunking."""
from __future__ import annotations

from apps.knowledge.chunking import chunk_sections, split_text
from apps.knowledge.parsing import Section


def test_it_keeps_short_text_in_one_chunk():
    assert split_text("A short note.", chunk_size=1000, chunk_overlap=200) == [(0, 13)]


def test_it_splits_long_text_into_overlapping_chunks_within_the_size():
    text = " ".join(f"Sentence number {i} talks about topic {i}." for i in range(200))
    spans = split_text(text, chunk_size=1000, chunk_overlap=200)
    assert len(spans) > 5
    assert all(end - start <= 1000 for start, end in spans)
    for (_, previous_end), (next_start, _) in zip(spans, spans[1:], strict=False):
        overlap = previous_end - next_start
        assert 0 < overlap <= 200
    assert spans[0][0] == 0 and spans[-1][1] == len(text)


def test_it_prefers_paragraph_boundaries():
    text = ("alpha " * 100).strip() + "\n\n" + ("beta " * 100).strip()
    spans = split_text(text, chunk_size=700, chunk_overlap=0)
    assert [text[start:end].strip().split()[0] for start, end in spans] == ["alpha", "beta"]


def test_it_cuts_a_single_huge_word_by_characters():
    spans = split_text("x" * 2500, chunk_size=1000, chunk_overlap=100)
    assert all(end - start <= 1000 for start, end in spans)
    assert spans[-1][1] == 2500


def test_it_records_page_and_offsets_for_pdf_pages_and_row_for_csv_rows():
    drafts = chunk_sections(
        [Section("Page one text.", page=1), Section("name: tea\nprice: 3", row=7)], chunk_size=500, chunk_overlap=50
    )
    assert drafts[0].metadata == {"page": 1, "start": 0, "end": 14}
    assert drafts[1].metadata["row"] == 7
    assert drafts[1].content == "name: tea\nprice: 3"


def test_it_honours_a_smaller_chunk_size():
    text = "word " * 400
    assert len(chunk_sections([Section(text)], chunk_size=200, chunk_overlap=20)) > len(
        chunk_sections([Section(text)], chunk_size=1000, chunk_overlap=200)
    )
