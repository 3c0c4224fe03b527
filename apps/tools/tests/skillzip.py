"""Skill ZIPs for the tests, built in memory."""
from __future__ import annotations

import io
import zipfile

SKILL_MD = """---
name: csv-cleanup
description: Clean a CSV file - trim cells, drop empty rows, normalise dates.
---
# CSV cleanup

1. Read the file.
2. Follow the checklist in checklist.md.
"""


def skill_zip(files: dict[str, str | bytes] | None = None, *, symlink: str | None = None) -> bytes:
    if files is None:
        files = {"SKILL.md": SKILL_MD, "checklist.md": "- trim every cell\n- ISO dates\n"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            archive.writestr(path, content)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()
