"""django-allauth adapters: upstream OAuth/OIDC logins create or link CodexEngine users."""
from __future__ import annotations

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:  # type: ignore[no-untyped-def]
        from apps.system.selectors import registration_allowed

        return registration_allowed()
