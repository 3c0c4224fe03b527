"""Toolkit profiles: a user's configured toolkit, its encrypted credentials, its connection and its tools.

The reads and writes behind 004's ``/api/composio/profiles*``, ``discover-tools``,
``connections*`` and ``/api/composio-secure/*``, and the run provider that offers the
enabled tools of the user's active profiles as ``<server_name>__<tool>``.

Credentials (the toolkit's field values) are one encrypted JSON; secret values never
leave in an answer, and a toolkit's URL template may not name a secret, so a profile's
MCP URL can be shown. The URL obeys the MCP servers' outbound rules (the fetcher's), and
only staff may let a profile reach private addresses.
"""
from __future__ import annotations

import json
import re
import uuid
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.core.errors import BadGateway, Conflict, Invalid, NotFound
from apps.core.fetch import FetchRefused
from apps.core.reads import shared
from apps.tools.mcp.client import SSE, STREAMABLE_HTTP, MCPFailure, MCPSessionPool, ServerSpec, check_url, list_tools
from apps.tools.mcp.servers import mcp_server_check, remote_tool, server_name_check, stored_tool
from apps.tools.models import Toolkit, ToolkitProfile
from apps.tools.toolkits.catalog import toolkit_get
from apps.tools.toolkits.checks import fill, placeholders
from apps.tools.toolset import Provision, ToolsetRequest

#: 004 names a profile's MCP server ``composio:<toolkit>``; clients group by it.
QUALIFIED_PREFIX = "composio:"
MAX_VALUE_CHARS = 4000
_NOT_NAME = re.compile(r"[^A-Za-z0-9-]+")


# ------------------------------------------------------------------------------
# Reads
# ------------------------------------------------------------------------------
def profile_list(*, user: Any, toolkit_slug: str = "", active_only: bool = False) -> QuerySet[ToolkitProfile]:
    profiles = ToolkitProfile.objects.filter(owner=user).select_related("toolkit")
    if toolkit_slug:
        profiles = profiles.filter(toolkit__slug=toolkit_slug)
    return profiles.filter(is_active=True) if active_only else profiles


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def profile_get(*, user: Any, profile_id: str) -> ToolkitProfile:
    """The user's profile; a foreign, missing or malformed id is the same 404."""
    key = _as_uuid(profile_id)
    profile = profile_list(user=user).filter(pk=key).first() if key else None
    if profile is None:
        raise NotFound("Profile not found.")
    return profile


def profile_by_connection(*, user: Any, connection_id: str) -> ToolkitProfile:
    key = _as_uuid(connection_id)
    profile = profile_list(user=user).filter(connection_id=key).first() if key else None
    if profile is None:
        raise NotFound("Connection not found.")
    return profile


def connection_list(*, user: Any, app_name: str = "") -> QuerySet[ToolkitProfile]:
    return profile_list(user=user, toolkit_slug=app_name).filter(connection_id__isnull=False)


def profile_dashboard(*, user: Any, connected_only: bool = False) -> QuerySet[ToolkitProfile]:
    """The active profiles a user marked for the dashboard (one per toolkit at most)."""
    profiles = profile_list(user=user, active_only=True).filter(is_default_for_dashboard=True)
    return profiles.filter(connection_id__isnull=False) if connected_only else profiles


def profile_name_available(*, user: Any, toolkit_slug: str, profile_name: str) -> bool:
    toolkit = toolkit_get(slug=toolkit_slug)
    return not profile_list(user=user).filter(toolkit=toolkit, profile_name__iexact=profile_name.strip()).exists()


def profile_values(profile: ToolkitProfile) -> dict[str, str]:
    try:
        values = json.loads(profile.credentials) if profile.credentials else {}
    except ValueError:
        values = {}
    return values if isinstance(values, dict) else {}


def _secret_names(toolkit: Toolkit) -> set[str]:
    return {field["name"] for field in toolkit.fields if field.get("field_type") == "secret"}


def profile_fields(profile: ToolkitProfile) -> list[dict[str, Any]]:
    """The toolkit's fields and whether each is set; the value of non-secret fields only."""
    values = profile_values(profile)
    out = []
    for field in profile.toolkit.fields:
        item = {"name": field["name"], "field_type": field["field_type"], "is_set": bool(values.get(field["name"]))}
        if field["field_type"] != "secret":
            item["value"] = values.get(field["name"], "")
        out.append(item)
    return out


def profile_mcp_url(profile: ToolkitProfile) -> str:
    """The profile's MCP URL (no secrets in it by the toolkit rules); 409 while it has no connection."""
    values = profile_values(profile)
    missing = [name for name in placeholders(profile.toolkit.mcp_url_template) if not values.get(name)]
    if profile.connection_id is None or missing:
        raise Conflict("The profile has no connection: give its credentials again (PUT the profile).")
    return fill(profile.toolkit.mcp_url_template, values)


def _transport(toolkit: Toolkit, url: str) -> str:
    if toolkit.transport == Toolkit.Transport.AUTO:
        return SSE if url.split("?", 1)[0].rstrip("/").endswith("/sse") else STREAMABLE_HTTP
    return toolkit.transport


def profile_spec(profile: ToolkitProfile) -> ServerSpec:
    """How to reach the profile's server: its URL, and the toolkit's headers whose fields are all set."""
    url = profile_mcp_url(profile)
    values = profile_values(profile)
    headers = tuple(
        (name, fill(template, values)) for name, template in profile.toolkit.header_templates.items()
        if all(values.get(field) for field in placeholders(template))
    )
    return ServerSpec(name=profile.server_name, transport=_transport(profile.toolkit, url), url=url, headers=headers,
                      allow_private=profile.allow_private)


def profile_enabled_tools(profile: ToolkitProfile) -> list[str]:
    names = [tool["name"] for tool in profile.tools or []]
    return names if profile.enabled_tools is None else [name for name in profile.enabled_tools if name in names]


def toolkit_tools(*, user: Any, toolkit: Toolkit, limit: int) -> list[dict[str, Any]]:
    """What the toolkit offers before connecting: the catalog's tools, then those the user's profiles discovered."""
    tools: dict[str, dict[str, Any]] = {}
    for tool in toolkit.tools:
        tools.setdefault(tool["name"], {"name": tool["name"], "description": tool.get("description", ""),
                                        "input_schema": tool.get("input_schema") or {"type": "object", "properties": {}}})
    for profile in profile_list(user=user).filter(toolkit=toolkit):
        for tool in profile.tools or []:
            tools.setdefault(tool["name"], {"name": tool["name"], "description": tool.get("description", ""),
                                            "input_schema": tool.get("input_schema") or {}})
    return list(tools.values())[:limit]


# ------------------------------------------------------------------------------
# Writes
# ------------------------------------------------------------------------------
def _checked_values(toolkit: Toolkit, given: dict[str, Any], current: dict[str, str] | None = None) -> dict[str, str]:
    """The profile's field values: ``given`` over ``current``, defaults filled, each checked (a 400 naming the field)."""
    fields = {field["name"]: field for field in toolkit.fields}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        message = f"Unknown fields for {toolkit.name}: {', '.join(unknown)}."
        raise Invalid(message, field_errors={"initiation_params": [message]})
    values = dict(current or {})
    for name, value in given.items():
        if value is None or isinstance(value, (dict, list)):
            raise Invalid(f"The field {name} takes a text value.", field_errors={name: ["Expected text."]})
        values[name] = str(value).strip()
    for name, field in fields.items():
        value = values.get(name) or str(field.get("default_value") or "")
        if field.get("required") and not value:
            raise Invalid(f"{field.get('display_name') or name} is required.", field_errors={name: ["Required."]})
        if len(value) > MAX_VALUE_CHARS or "\r" in value or "\n" in value:
            raise Invalid(f"The field {name} is too long or has line breaks.", field_errors={name: ["Invalid."]})
        if value and field["field_type"] == "url" and not value.startswith(("http://", "https://")):
            raise Invalid(f"The field {name} is an http or https URL.", field_errors={name: ["Enter a URL."]})
        values[name] = value
    return {name: value for name, value in values.items() if value}


def _check_reachable(*, user: Any, toolkit: Toolkit, values: dict[str, str], allow_private: bool) -> None:
    """The URL the values give must pass the MCP servers' rules (outbound policy; private is staff's)."""
    url = fill(toolkit.mcp_url_template, values)
    transport = _transport(toolkit, url)
    async_to_sync(mcp_server_check)(user=user, transport=transport, url=url, allow_private=allow_private)


def _server_name(user: Any, toolkit: Toolkit, profile_name: str, wanted: str = "") -> str:
    if wanted:
        try:
            name = server_name_check(wanted)
        except Invalid as exc:
            raise Invalid(exc.message, field_errors={"mcp_server_name": [exc.message]}) from exc
        if ToolkitProfile.objects.filter(owner=user, server_name=name).exists():
            raise Conflict(f"You already have a profile with the server name {name}.")
        return name
    base = _NOT_NAME.sub("-", f"{toolkit.slug}-{profile_name}").strip("-").lower()[:40] or toolkit.slug
    taken = set(ToolkitProfile.objects.filter(owner=user, server_name__startswith=base).values_list("server_name", flat=True))
    name, counter = base, 2
    while name in taken:
        name, counter = f"{base}-{counter}", counter + 1
    return server_name_check(name)


def _name_check(profile_name: str) -> str:
    name = (profile_name or "").strip()
    if not name:
        raise Invalid("A profile needs a name.", field_errors={"profile_name": ["Required."]})
    return name


def _save(profile: ToolkitProfile, **kwargs: Any) -> ToolkitProfile:
    try:
        with transaction.atomic():
            profile.save(**kwargs)
    except IntegrityError as exc:
        raise Conflict(f"You already have a profile named {profile.profile_name} for {profile.toolkit.name}.") from exc
    return profile


def _make_default(profile: ToolkitProfile, flag: str) -> None:
    # Unset the toolkit's other default first: the constraint allows one per user and toolkit.
    # Two requests doing this at once: the second one's update meets the constraint, a 409 (try again).
    now = timezone.now()
    try:
        with transaction.atomic():
            ToolkitProfile.objects.filter(owner=profile.owner_id, toolkit=profile.toolkit_id, **{flag: True}).exclude(
                pk=profile.pk).update(**{flag: False, "updated_at": now})
            ToolkitProfile.objects.filter(pk=profile.pk).update(**{flag: True, "updated_at": now})
    except IntegrityError as exc:
        raise Conflict("The toolkit's default changed at the same time; try again.") from exc
    setattr(profile, flag, True)


def profile_create(
    *,
    user: Any,
    toolkit_slug: str,
    profile_name: str,
    display_name: str = "",
    values: dict[str, Any] | None = None,
    server_name: str = "",
    is_default: bool = False,
    is_default_for_dashboard: bool = False,
    enabled_tools: list[str] | None = None,
    allow_private: bool = False,
) -> ToolkitProfile:
    """A new profile with a connection; the toolkit's first profile is its default and dashboard default."""
    toolkit = toolkit_get(slug=toolkit_slug)
    name = _name_check(profile_name)
    if profile_list(user=user).filter(toolkit=toolkit, profile_name__iexact=name).exists():
        raise Conflict(f"Profile '{name}' already exists for {toolkit.name}.")
    checked = _checked_values(toolkit, values or {})
    server_name = _server_name(user, toolkit, name, server_name)
    _check_reachable(user=user, toolkit=toolkit, values=checked, allow_private=allow_private)
    first = not profile_list(user=user).filter(toolkit=toolkit).exists()
    profile = ToolkitProfile(
        owner=user, toolkit=toolkit, profile_name=name, display_name=(display_name or "").strip() or f"{toolkit.name} - {name}",
        server_name=server_name, credentials=json.dumps(checked),
        connection_id=uuid.uuid4(), allow_private=allow_private, enabled_tools=enabled_tools,
    )
    with transaction.atomic():
        _save(profile)
        if is_default or first:
            _make_default(profile, "is_default")
        if is_default_for_dashboard or first:
            _make_default(profile, "is_default_for_dashboard")
    return profile


def profile_update(
    *,
    user: Any,
    profile: ToolkitProfile,
    profile_name: str | None = None,
    display_name: str | None = None,
    is_active: bool | None = None,
    is_default: bool | None = None,
    is_default_for_dashboard: bool | None = None,
    enabled_tools: list[str] | None = None,
    values: dict[str, Any] | None = None,
    allow_private: bool | None = None,
) -> ToolkitProfile:
    """Change what is given; new credentials (``values``) make a new connection that needs a new discovery."""
    if profile_name is not None:
        profile.profile_name = _name_check(profile_name)
    if display_name is not None:
        profile.display_name = display_name.strip()
    if is_active is not None:
        profile.is_active = is_active
    newly_private = bool(allow_private) and not profile.allow_private
    if allow_private is not None:
        profile.allow_private = allow_private
    if values is not None or newly_private:
        current = profile_values(profile) if profile.connection_id else {}
        checked = _checked_values(profile.toolkit, values or {}, current)
        _check_reachable(user=user, toolkit=profile.toolkit, values=checked, allow_private=profile.allow_private)
        if values is not None:
            profile.credentials = json.dumps(checked)
            profile.connection_id = uuid.uuid4()
            profile.status, profile.error, profile.tools = ToolkitProfile.Status.INITIATED, "", []
    if enabled_tools is not None:
        profile_tools_check(profile, enabled_tools)
        profile.enabled_tools = enabled_tools
    with transaction.atomic():
        _save(profile)
        for flag, wanted in (("is_default", is_default), ("is_default_for_dashboard", is_default_for_dashboard)):
            if wanted:
                _make_default(profile, flag)
            elif wanted is False and getattr(profile, flag):
                ToolkitProfile.objects.filter(pk=profile.pk).update(**{flag: False})
                setattr(profile, flag, False)
    return profile


def profile_tools_check(profile: ToolkitProfile, enabled_tools: list[str]) -> None:
    offered = {tool["name"] for tool in profile.tools or []}
    unknown = sorted(set(enabled_tools) - offered)
    if unknown:
        message = (f"Not tools of this profile: {', '.join(unknown)}." if offered
                   else "The profile has no discovered tools yet: discover its tools first.")
        raise Invalid(message, field_errors={"enabled_tools": [message]})


def profile_tools_update(*, profile: ToolkitProfile, enabled_tools: list[str]) -> ToolkitProfile:
    profile_tools_check(profile, enabled_tools)
    profile.enabled_tools = list(dict.fromkeys(enabled_tools))
    profile.save(update_fields=["enabled_tools", "updated_at"])
    return profile


def profile_delete(*, profile: ToolkitProfile) -> None:
    profile.delete()


def profile_bulk_delete(*, user: Any, profile_ids: list[uuid.UUID]) -> int:
    """Delete the user's profiles among ``profile_ids``; others' ids count as not deleted."""
    deleted, _ = ToolkitProfile.objects.filter(owner=user, pk__in=profile_ids).delete()
    return deleted


def profile_set_default(*, profile: ToolkitProfile, dashboard: bool = False) -> ToolkitProfile:
    _make_default(profile, "is_default_for_dashboard" if dashboard else "is_default")
    return profile


def profile_set_active(*, profile: ToolkitProfile, is_active: bool | None = None) -> ToolkitProfile:
    """Set the active flag, or flip it when ``is_active`` is not given."""
    profile.is_active = (not profile.is_active) if is_active is None else is_active
    profile.save(update_fields=["is_active", "updated_at"])
    return profile


def profile_touch(*, profile: ToolkitProfile) -> None:
    profile.last_used_at = timezone.now()
    profile.save(update_fields=["last_used_at"])


def connection_delete(*, profile: ToolkitProfile) -> None:
    """Drop the connection: its credentials and discovered tools go; the profile stays, without a connection."""
    profile.credentials, profile.connection_id = "", None
    profile.status, profile.error, profile.tools = ToolkitProfile.Status.INITIATED, "", []
    profile.save(update_fields=["credentials", "connection_id", "status", "error", "tools", "updated_at"])


async def profile_discover(*, profile: ToolkitProfile) -> ToolkitProfile:
    """Connect to the profile's server, run ``list_tools`` and keep the tools, the status and the error.

    A URL the outbound rules refuse is a 400; a server that cannot be reached or fails is a 502.
    """
    spec = await sync_to_async(profile_spec)(profile)
    try:
        await check_url(spec.url, allow_private=spec.allow_private)
        tools = await list_tools(spec)
    except (FetchRefused, MCPFailure) as exc:
        profile.status, profile.error = ToolkitProfile.Status.FAILED, exc.message
        profile.refreshed_at = timezone.now()
        await profile.asave(update_fields=["status", "error", "refreshed_at", "updated_at"])
        if isinstance(exc, FetchRefused):
            raise Invalid(exc.message, code="url_refused") from exc
        raise BadGateway(f"Tool discovery failed: {exc.message}") from exc
    profile.status, profile.error = ToolkitProfile.Status.ACTIVE, ""
    profile.tools = [tool.as_json() for tool in tools]
    if profile.enabled_tools is not None:
        profile.enabled_tools = [name for name in profile.enabled_tools if name in {tool.name for tool in tools}]
    profile.refreshed_at = timezone.now()
    await profile.asave(update_fields=["status", "error", "tools", "enabled_tools", "refreshed_at", "updated_at"])
    return profile


# ------------------------------------------------------------------------------
# In a run
# ------------------------------------------------------------------------------
def profiles_provision(request: ToolsetRequest) -> Provision:
    """The enabled tools of the user's active, connected profiles (as last discovered), one session per profile."""
    pool = MCPSessionPool()
    tools = []
    profiles = shared(("run-toolkit-profiles", request.user.pk), lambda: list(profile_list(
        user=request.user, active_only=True).filter(
        status=ToolkitProfile.Status.ACTIVE, connection_id__isnull=False, toolkit__is_enabled=True)))
    for profile in profiles:
        try:
            spec = profile_spec(profile)
        except Conflict:
            # A toolkit edited since (a new URL field) leaves the profile without a usable URL until it is updated.
            continue
        enabled = set(profile_enabled_tools(profile))
        tools.extend(remote_tool(pool, spec, stored_tool(raw), type="toolkit")
                     for raw in profile.tools or [] if raw["name"] in enabled)
    return Provision(tools=tools, closers=[pool.aclose])
