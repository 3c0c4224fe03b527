"""Signing in through upstream OAuth/OIDC providers, by handing the browser to django-allauth.

Providers are configured from the environment (``SOCIALACCOUNT_PROVIDERS`` in settings)
or as SocialApp rows in the admin. The redirect URI that allauth sends to a provider is
our documented ``/api/auth/upstream/callback/{provider_id}`` (see ``api/auth/urls.py``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from allauth.socialaccount.adapter import get_adapter
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string
from requests import RequestException

from apps.core.errors import BadGateway, Invalid, NotFound

logger = logging.getLogger(__name__)


class UpstreamUnavailable(BadGateway):
    code = "upstream_unavailable"


@dataclass(frozen=True)
class UpstreamProvider:
    id: str
    name: str
    type: str
    login_url: str


def _configured(request: HttpRequest) -> list[Any]:
    return get_adapter(request).list_providers(request)


def _provider(request: HttpRequest, provider_id: str | None) -> Any:
    providers = _configured(request)
    if provider_id is None:
        if not providers:
            raise NotFound("No upstream login provider is configured.", code="provider_not_configured")
        return providers[0]
    for provider in providers:
        if provider.sub_id == provider_id:
            return provider
    raise NotFound(f"Upstream login provider '{provider_id}' is not configured.", code="provider_not_configured")


def upstream_providers(*, request: HttpRequest) -> list[UpstreamProvider]:
    return [
        UpstreamProvider(
            id=provider.sub_id,
            name=provider.name,
            type=type(provider).id,
            login_url=reverse("upstream-login", kwargs={"provider_id": provider.sub_id}),
        )
        for provider in _configured(request)
    ]


def _safe_next(request: HttpRequest, next_url: str | None) -> str | None:
    """Only a path or a URL on this host: anything else would make us an open redirector."""
    if not next_url:
        return None
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        raise Invalid("The redirect target must be on this site.", field_errors={"next": ["Must be on this site."]})
    return next_url


def upstream_login_redirect(*, request: HttpRequest, provider_id: str | None, next_url: str | None) -> HttpResponse:
    """A 302 to the provider's authorize URL; allauth keeps the state (and PKCE verifier) in the session."""
    provider = _provider(request, provider_id)
    next_url = _safe_next(request, next_url)
    try:
        return provider.redirect(request, process="login", next_url=next_url)
    except (RequestException, ValueError, KeyError) as exc:
        # OIDC providers fetch their discovery document here; a provider that is down is not our 500.
        logger.warning("upstream provider %s failed to start a login: %s", provider.sub_id, exc)
        raise UpstreamUnavailable(f"Upstream login provider '{provider.sub_id}' could not be reached.") from exc


def upstream_callback(*, request: HttpRequest, provider_id: str) -> HttpResponse:
    """Finish an upstream login in allauth's callback view: it checks the state, links or creates the user and logs in."""
    provider = _provider(request, provider_id)
    package = provider.get_package()
    if type(provider).id == "openid_connect":
        return import_string(f"{package}.views.callback")(request, provider_id=provider.sub_id)
    return import_string(f"{package}.views.oauth2_callback")(request)
