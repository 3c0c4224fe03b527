"""Turn an uploaded file into text sections, each with where it came from (page, row)."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath, PureWindowsPath

#: Extension → the content type we record when the client sends none we trust.
SUPPORTED_TYPES: dict[str, str] = {
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".html": "text/html",
    ".htm": "text/html",
    ".json": "application/json",
}

# A DOCX is a zip; these bound what it may inflate to, so a small upload cannot exhaust memory.
DOCX_MAX_INFLATED_BYTES = 100 * 1024 * 1024
DOCX_MAX_RATIO = 100
DOCX_MAX_MEMBERS = 10_000


class ParseError(Exception):
    """The file cannot be read; the message is safe to show to its owner."""


@dataclass(frozen=True)
class Section:
    text: str
    page: int | None = None
    row: int | None = None


def clean_filename(name: str) -> str:
    """The last path component of a client-supplied name, without control characters."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = "".join(ch for ch in base if ch.isprintable()).strip().strip(".")
    return base[:255]


def extension_of(filename: str) -> str:
    return PurePosixPath(filename.lower()).suffix


def is_supported(filename: str) -> bool:
    return extension_of(filename) in SUPPORTED_TYPES


def check_docx_archive(data: bytes) -> None:
    """Refuse a DOCX that would inflate beyond sane limits (a zip bomb)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ParseError("The DOCX file is not a valid zip archive.") from exc
    members = archive.infolist()
    if len(members) > DOCX_MAX_MEMBERS:
        raise ParseError("The DOCX file holds too many parts.")
    total = sum(member.file_size for member in members)
    compressed = sum(member.compress_size for member in members) or 1
    if total > DOCX_MAX_INFLATED_BYTES or total / compressed > DOCX_MAX_RATIO:
        raise ParseError("The DOCX file inflates beyond the allowed size.")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise ParseError("The file is not UTF-8 text.")


def _parse_pdf(data: bytes) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ParseError("The PDF is encrypted.")
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            text = (page.extract_text() or "").strip()
            if text:
                sections.append(Section(text=text, page=number))
        return sections
    except ParseError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ParseError("The PDF is damaged and cannot be read.") from exc


def _parse_csv(data: bytes) -> list[Section]:
    text = _decode(data)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ParseError("The CSV file is malformed.") from exc
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header, body = rows[0], rows[1:]
    sections = []
    for number, row in enumerate(body, start=1):
        # Each row keeps its header, so a chunk reads "name: value" on its own.
        pairs = [
            f"{header[i] if i < len(header) and header[i].strip() else f'column {i + 1}'}: {value}"
            for i, value in enumerate(row)
            if value.strip()
        ]
        sections.append(Section(text="\n".join(pairs), row=number))
    return sections


def _parse_docx(data: bytes) -> list[Section]:
    check_docx_archive(data)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ParseError("The DOCX file is damaged and cannot be read.") from exc
    except Exception as exc:  # lxml raises its own XML errors on a damaged part
        raise ParseError("The DOCX file is damaged and cannot be read.") from exc
    lines = [paragraph.text for paragraph in document.paragraphs if paragraph.text.strip()]
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells if cell.text.strip()]
            if cells:
                lines.append(" | ".join(cells))
    text = "\n\n".join(lines)
    return [Section(text=text)] if text.strip() else []


class _TextExtractor(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "head"}
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _parse_html(data: bytes) -> list[Section]:
    extractor = _TextExtractor()
    extractor.feed(_decode(data))
    extractor.close()
    lines = [" ".join(line.split()) for line in "".join(extractor.parts).splitlines()]
    text = "\n".join(line for line in lines if line)
    return [Section(text=text)] if text else []


def _flatten_json(value: object, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        out: list[str] = []
        for key, item in value.items():
            out.extend(_flatten_json(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        out = []
        for index, item in enumerate(value):
            out.extend(_flatten_json(item, f"{prefix}[{index}]"))
        return out
    return [f"{prefix}: {value}" if prefix else str(value)]


def _parse_json(data: bytes) -> list[Section]:
    try:
        value = json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise ParseError("The JSON file is malformed.") from exc
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        # A list of records reads best one record per section, like CSV rows.
        return [Section(text="\n".join(_flatten_json(item)), row=i) for i, item in enumerate(value, start=1)]
    text = "\n".join(_flatten_json(value))
    return [Section(text=text)] if text.strip() else []


def _parse_text(data: bytes) -> list[Section]:
    text = _decode(data).strip()
    return [Section(text=text)] if text else []


_PARSERS = {
    ".pdf": _parse_pdf,
    ".txt": _parse_text,
    ".md": _parse_text,
    ".markdown": _parse_text,
    ".csv": _parse_csv,
    ".docx": _parse_docx,
    ".html": _parse_html,
    ".htm": _parse_html,
    ".json": _parse_json,
}


def parse(data: bytes, filename: str) -> list[Section]:
    """The file's text sections; raises :class:`ParseError` for anything unreadable."""
    parser = _PARSERS.get(extension_of(filename))
    if parser is None:
        raise ParseError(f"Unsupported file type: {extension_of(filename) or 'none'}.")
    sections = parser(data)
    if not sections:
        raise ParseError("The file holds no text.")
    return sections
