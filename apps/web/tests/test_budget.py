"""First load under 200 KB of JS+CSS, gzipped: the files a page references, followed through
their static imports as the asset view serves them (dynamic ``import()`` loads later)."""
from __future__ import annotations

import gzip
import re

import pytest
from django.test import Client

from apps.web.views import asset_body

pytestmark = pytest.mark.django_db

BUDGET_BYTES = 200 * 1024
REFERENCE = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)="/app/assets/([^"?]+)""")
STATIC_IMPORT = re.compile(r"""(?:^|[;\n}])\s*(?:import|export)\b[^;("']*?\bfrom\s*["']([^"'?]+)|(?:^|[;\n])\s*import\s*["']([^"'?]+)""")


def first_load(path: str) -> dict[str, int]:
    """Each asset a page loads before it is usable, with its gzipped size."""
    html = Client().get(path).content.decode()
    pending = REFERENCE.findall(html)
    sizes: dict[str, int] = {}
    while pending:
        name = pending.pop()
        if name in sizes:
            continue
        body = asset_body(name)
        sizes[name] = len(gzip.compress(body, compresslevel=9))
        if name.endswith((".js", ".mjs")):
            base = name.rsplit("/", 1)[0] if "/" in name else ""
            for match in STATIC_IMPORT.finditer(body.decode()):
                target = match.group(1) or match.group(2)
                if target.startswith("."):
                    pending.append(_join(base, target))
    return sizes


def _join(base: str, relative: str) -> str:
    parts = base.split("/") if base else []
    for part in relative.split("/"):
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


@pytest.mark.parametrize("path", ["/app/", "/app/login"])
def test_its_first_load_is_under_200_kb_of_gzipped_js_and_css(path):
    sizes = first_load(path)

    total = sum(sizes.values())
    assert total < BUDGET_BYTES, f"{path}: {total} bytes gzipped: {sorted(sizes.items(), key=lambda kv: -kv[1])}"


def test_it_counts_the_modules_a_page_imports():
    sizes = first_load("/app/")

    # The sanitiser and the markdown parser come in through chat.js → markdown.js.
    assert {"js/chat.js", "js/core.js", "css/app.css", "js/theme.js"} <= set(sizes)
