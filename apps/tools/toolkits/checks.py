"""The rules a toolkit template obeys (shipped or edited in the admin), and filling its templates.

Kept free of model imports: the model's ``clean`` and the catalog loader both call it.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from typing import Any

from django.core.exceptions import ValidationError

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FIELD_TYPES = ("string", "secret", "url")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]{0,39})\}")
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
#: Headers the MCP transport owns; a template may not set them.
RESERVED_HEADERS = {"host", "content-length", "content-type", "transfer-encoding", "connection", "mcp-session-id",
                    "mcp-protocol-version", "accept"}
MAX_ICON_CHARS = 20_000

_SVG = "{http://www.w3.org/2000/svg}"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
#: Drawing elements only: no script, foreignObject, image, animation or links out.
SVG_ELEMENTS = {
    "svg", "g", "path", "circle", "ellipse", "rect", "line", "polyline", "polygon", "title", "desc", "defs",
    "linearGradient", "radialGradient", "stop", "clipPath", "mask", "use", "text", "tspan", "symbol",
}


def placeholders(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template or ""))


def fill(template: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), template)


def svg_check(svg: str) -> None:
    """Refuse an icon that could do more than draw: scripts, handlers, external references, entities."""
    if len(svg) > MAX_ICON_CHARS:
        raise ValidationError(f"An icon may be at most {MAX_ICON_CHARS} characters.")
    if "<!" in svg or "<?xml-stylesheet" in svg:
        # No DOCTYPE or ENTITY (entity expansion) and no CDATA or stylesheet tricks.
        raise ValidationError("An icon may not contain a DOCTYPE, entities, CDATA or stylesheets.")
    try:
        root = ElementTree.fromstring(svg)
    except ElementTree.ParseError as exc:
        raise ValidationError(f"The icon is not well-formed XML: {exc}.") from exc
    if root.tag != f"{_SVG}svg":
        raise ValidationError("The icon must be an <svg> element in the SVG namespace.")
    for element in root.iter():
        local = element.tag.removeprefix(_SVG)
        if not element.tag.startswith(_SVG) or local not in SVG_ELEMENTS:
            raise ValidationError(f"The icon may not contain <{local}>.")
        for attribute, value in element.attrib.items():
            name = attribute.rsplit("}", 1)[-1].lower()
            if name.startswith("on"):
                raise ValidationError(f"The icon may not have event handlers ({name}).")
            if (name == "href" or attribute == _XLINK_HREF) and not value.startswith("#"):
                raise ValidationError("The icon may only link to its own elements (href=\"#...\").")
            if "url(" in value.replace(" ", "").lower() and not re.fullmatch(r"\s*url\(#[\w-]+\)\s*", value):
                raise ValidationError("The icon may only reference its own elements in url(...).")
            if "javascript:" in value.lower() or "data:" in value.lower():
                raise ValidationError("The icon may not contain javascript: or data: values.")


def _field_errors(fields: Any) -> tuple[dict[str, dict[str, Any]], list[str]]:
    if not isinstance(fields, list):
        return {}, ["The fields are a list."]
    known: dict[str, dict[str, Any]] = {}
    errors = []
    for field in fields:
        if not isinstance(field, dict) or not FIELD_NAME.match(str(field.get("name", ""))):
            errors.append("Each field has a name of lower-case letters, digits and '_' (at most 40).")
            continue
        if field.get("field_type") not in FIELD_TYPES:
            errors.append(f"The field {field['name']} has a field_type of {', '.join(FIELD_TYPES)}.")
        if field["name"] in known:
            errors.append(f"The field {field['name']} appears twice.")
        known[field["name"]] = field
    return known, errors


def toolkit_check(toolkit: Any) -> None:
    """Raise a ValidationError (per model field) when a toolkit's templates, fields or icon break the rules."""
    errors: dict[str, list[str]] = {}
    fields, field_errors = _field_errors(toolkit.fields)
    if field_errors:
        errors["fields"] = field_errors
    url_names = placeholders(toolkit.mcp_url_template)
    unknown = url_names - set(fields)
    secret = {name for name in url_names if fields.get(name, {}).get("field_type") == "secret"}
    if unknown:
        errors.setdefault("mcp_url_template", []).append(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if secret:
        errors.setdefault("mcp_url_template", []).append(
            f"Secret fields go in headers, not in the URL (which users are shown): {', '.join(sorted(secret))}.")
    sample = fill(toolkit.mcp_url_template,
                  {name: "https://example.com" if field.get("field_type") == "url" else "x" for name, field in fields.items()})
    if not sample.startswith(("http://", "https://")):
        errors.setdefault("mcp_url_template", []).append("The URL template must give an http or https URL.")
    headers = toolkit.header_templates
    if not isinstance(headers, dict):
        errors["header_templates"] = ["The header templates are an object of header name to template."]
    else:
        for name, template in headers.items():
            if not HEADER_NAME.match(str(name)) or str(name).lower() in RESERVED_HEADERS or not isinstance(template, str):
                errors.setdefault("header_templates", []).append(f"The header {name} cannot be set by a toolkit.")
            elif placeholders(template) - set(fields):
                missing = ", ".join(sorted(placeholders(template) - set(fields)))
                errors.setdefault("header_templates", []).append(f"The header {name} names unknown fields: {missing}.")
    if not isinstance(toolkit.tools, list) or not all(isinstance(tool, dict) and tool.get("name") for tool in toolkit.tools):
        errors["tools"] = ["The tools are a list of {name, description}."]
    if toolkit.icon_svg:
        try:
            svg_check(toolkit.icon_svg)
        except ValidationError as exc:
            errors["icon_svg"] = exc.messages
    if errors:
        raise ValidationError(errors)
