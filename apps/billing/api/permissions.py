"""The billing admin routes' ``X-API-Key``, compared in constant time with BILLING_ADMIN_API_KEY."""
from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from rest_framework.permissions import BasePermission

from apps.core.errors import Forbidden, ServiceUnavailable, Unauthorized


class HasBillingAdminKey(BasePermission):
    def has_permission(self, request: Any, view: Any) -> bool:
        expected = settings.BILLING_ADMIN_API_KEY
        if not expected:
            raise ServiceUnavailable("The billing admin API is not configured (BILLING_ADMIN_API_KEY is unset).")
        given = request.headers.get("X-API-Key", "")
        if not given:
            raise Unauthorized("The X-API-Key header is required.")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Forbidden("The API key is not valid.")
        return True
