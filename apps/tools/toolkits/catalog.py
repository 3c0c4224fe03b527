"""The toolkit catalog: MCP server templates shipped in ``catalog.json`` (icons in ``icons/``), extended in the admin.

Reads behind 004's ``/api/composio/categories``, ``toolkits``, ``toolkits/{slug}/icon``,
``details``, ``tools/list`` and ``health``, and the loader that installs the shipped
entries (the data migration and ``manage.py load_toolkits``).

``COMPOSIO_API_KEY`` is reported by the health route only: the hosted Composio catalog is
not called (it cannot be reached or tested here), so the local catalog is the catalog.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from apps.core.errors import NotFound
from apps.tools.models import Toolkit
from apps.tools.toolkits.checks import toolkit_check

CATALOG_DIR = Path(__file__).resolve().parent
CATALOG_FILE = CATALOG_DIR / "catalog.json"
#: The fields the loader writes; anything else on a row is the staff's or the database's.
SHIPPED_FIELDS = ("name", "category", "description", "icon_svg", "docs_url", "mcp_url_template", "transport",
                  "header_templates", "fields", "tools")


def shipped_entries() -> list[dict[str, Any]]:
    """The shipped catalog, with each entry's icon read from ``icons/``."""
    entries = json.loads(CATALOG_FILE.read_text())
    for entry in entries:
        icon = entry.pop("icon", "")
        entry["icon_svg"] = (CATALOG_DIR / "icons" / icon).read_text().strip() if icon else ""
        entry.setdefault("tools", [])
    return entries


def catalog_install(model: type[Toolkit] = Toolkit) -> list[tuple[str, str]]:
    """Create or update the shipped toolkits; a toolkit a staff member edited (``source=staff``) is left alone.

    ``model`` is the data migration's historical model, or the real one.
    """
    outcomes = []
    for entry in shipped_entries():
        values = {name: entry[name] for name in SHIPPED_FIELDS if name in entry}
        toolkit_check(model(slug=entry["slug"], **values))
        current = model.objects.filter(slug=entry["slug"]).first()
        if current is None:
            model.objects.create(slug=entry["slug"], source="shipped", **values)
            outcomes.append((entry["slug"], "installed"))
        elif current.source != "shipped":
            outcomes.append((entry["slug"], "kept (edited by staff)"))
        elif any(getattr(current, name) != value for name, value in values.items()):
            model.objects.filter(pk=current.pk).update(**values)
            outcomes.append((entry["slug"], "updated"))
        else:
            outcomes.append((entry["slug"], "unchanged"))
    return outcomes


# ------------------------------------------------------------------------------
# Reads
# ------------------------------------------------------------------------------
def toolkit_queryset() -> QuerySet[Toolkit]:
    return Toolkit.objects.filter(is_enabled=True)


def toolkit_get(*, slug: str) -> Toolkit:
    toolkit = toolkit_queryset().filter(slug=slug).first()
    if toolkit is None:
        raise NotFound(f"Toolkit '{slug}' not found.")
    return toolkit


def toolkit_categories() -> list[str]:
    return sorted(set(toolkit_queryset().values_list("category", flat=True)))


def toolkit_list(*, category: str = "", search: str = "", cursor: str = "", limit: int = 50
                 ) -> tuple[list[Toolkit], str | None, int]:
    """A page of toolkits by slug: the page, the cursor of the next one (``None`` at the end) and the total."""
    toolkits = toolkit_queryset()
    if category:
        toolkits = toolkits.filter(category=category)
    if search:
        toolkits = toolkits.filter(Q(name__icontains=search) | Q(slug__icontains=search) | Q(description__icontains=search))
    total = toolkits.count()
    page = list(toolkits.filter(slug__gt=cursor)[: limit + 1] if cursor else toolkits[: limit + 1])
    next_cursor = page[limit - 1].slug if len(page) > limit else None
    return page[:limit], next_cursor, total


def catalog_health() -> dict[str, Any]:
    count = toolkit_queryset().count()
    return {
        "status": "healthy" if count else "unhealthy",
        "catalog_loaded": bool(count),
        "toolkits": count,
        "source": "local",
        "api_key_configured": bool(settings.COMPOSIO_API_KEY),
        **({} if count else {"error": "The toolkit catalog is empty: run manage.py load_toolkits."}),
    }
