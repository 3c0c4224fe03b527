"""Parsing per file type, and what is refused."""
from __future__ import annotations

import io
import zipfile

import pytest

from apps.knowledge.parsing import ParseError, check_docx_archive, clean_filename, parse
from apps.knowledge.tests.conftest import CORPUS


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_it_reads_a_pdf_page_by_page_with_one_based_page_numbers():
    sections = parse(read("handbook.pdf"), "handbook.pdf")
    assert [section.page for section in sections] == [1, 2, 3, 4]
    assert "PVC and vinyl are banned" in sections[1].text


def test_it_reads_a_csv_one_section_per_row_with_the_header_kept():
    sections = parse(read("teas.csv"), "teas.csv")
    assert len(sections) == 8
    assert sections[3].row == 4
    assert "name: Ceremonial Matcha" in sections[3].text
    assert "warehouse: Osaka" in sections[3].text


def test_it_reads_a_docx_with_python_docx():
    [section] = parse(read("travel-policy.docx"), "travel-policy.docx")
    assert "180 euros per night" in section.text


def test_it_keeps_only_the_text_of_html():
    [section] = parse(read("greenhouse.html"), "greenhouse.html")
    assert "drip irrigation" in section.text
    assert "script text" not in section.text
    assert "color:red" not in section.text


def test_it_reads_a_json_list_of_records_one_row_each():
    sections = parse(read("planets.json"), "planets.json")
    assert [section.row for section in sections] == [1, 2, 3]
    assert "Olympus Mons" in sections[0].text


def test_it_reads_markdown_as_text():
    [section] = parse(read("nightjar.md"), "nightjar.md")
    assert "port 7443" in section.text


def test_it_refuses_a_damaged_pdf():
    with pytest.raises(ParseError, match="PDF"):
        parse(b"%PDF-1.4\nthis is not really a pdf", "broken.pdf")


def test_it_refuses_a_damaged_docx():
    with pytest.raises(ParseError, match="DOCX"):
        parse(b"PK\x03\x04 not a zip at all", "broken.docx")


def test_it_refuses_a_file_with_no_text():
    with pytest.raises(ParseError, match="no text"):
        parse(b"   \n  ", "empty.txt")


def test_it_refuses_binary_posing_as_text():
    with pytest.raises(ParseError, match="UTF-8"):
        parse(bytes(range(256)) * 4, "binary.txt")


def test_it_refuses_a_docx_that_inflates_like_a_zip_bomb():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"0" * (20 * 1024 * 1024))
    with pytest.raises(ParseError, match="inflates"):
        check_docx_archive(buffer.getvalue())


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\alice\\report.pdf", "report.pdf"),
        ("/abs/path/notes.md", "notes.md"),
        ("..", ""),
        ("bad\x00name.txt", "badname.txt"),
    ],
)
def test_it_strips_path_parts_from_filenames(raw, clean):
    assert clean_filename(raw) == clean
