"""django-allauth adapters: upstream OAuth/OIDC logins create or link CodexEngine users."""
from __future__ import annotations

from typing import Any

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: Any, sociallogin: Any) -> bool:
        """New accounts from a provider follow the same switch as local sign-up.

        An invite-only site has no way to take an invite code through a provider's
        redirect, so it admits only people whose accounts already exist.
        """
        from apps.system.selectors import registration_allowed, registration_invite_only

        return registration_allowed() and not registration_invite_only()

    def populate_user(self, request: Any, sociallogin: Any, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        full_name = data.get("name") or " ".join(filter(None, [data.get("first_name"), data.get("last_name")]))
        user.name = (full_name or "")[:100]
        return user
