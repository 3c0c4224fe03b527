"""The 28 documented billing routes resolve at their documented paths, each to a view that takes its method."""
from __future__ import annotations

import pytest
from django.urls import resolve

ROUTES = [
    ("GET", "/api/v1/agent/credits/balance"), ("GET", "/api/v1/agent/credits/usage"),
    ("POST", "/api/v1/agent/credits/add"),
    ("GET", "/api/billing/status"), ("GET", "/api/billing/subscription"), ("GET", "/api/billing/usage-history"),
    ("GET", "/api/billing/plans"), ("POST", "/api/billing/create-checkout-session"),
    ("POST", "/api/billing/upgrade-plan"), ("POST", "/api/billing/openrouter-key"),
    ("GET", "/api/billing/openrouter-key/status"), ("DELETE", "/api/billing/openrouter-key"),
    ("POST", "/api/billing/openrouter-key/test"), ("GET", "/api/billing/payment-methods/regions"),
    ("GET", "/api/billing/payment-methods/all"), ("GET", "/api/billing/payment-methods/region/US"),
    ("POST", "/api/billing/payment-methods/validate"), ("GET", "/api/billing/payment-methods/presets"),
    ("GET", "/api/billing/payment-methods/detect"), ("POST", "/api/billing/admin/reset-quotas"),
    ("GET", "/api/billing/admin/quota-status"), ("GET", "/api/billing/admin/openrouter-cache/info"),
    ("POST", "/api/billing/admin/openrouter-cache/warm"), ("POST", "/api/billing/admin/openrouter-cache/clear"),
    ("POST", "/api/webhooks/polar"), ("POST", "/api/send-welcome-email"), ("GET", "/api/feature-flags"),
    ("GET", "/api/feature-flags/beta"),
]


def test_there_are_28():
    assert len(ROUTES) == 28


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_the_route_resolves_to_a_view_with_its_method(method, path):
    view = resolve(path).func.view_class
    assert view.__module__ == "apps.billing.api.views"
    assert hasattr(view, method.lower())
