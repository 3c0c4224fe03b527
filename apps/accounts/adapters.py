"""django-allauth adapters: upstream OAuth/OIDC logins create or link CodexEngine users."""
from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from apps.accounts.registration import registration_switches
from apps.core import throttle
from apps.core.client_ip import client_ip

USERNAME_RULE = RegexValidator(r"^[A-Za-z0-9._-]{3,50}$", "Use 3 to 50 letters, digits, dots, underscores and hyphens.")


class AccountAdapter(DefaultAccountAdapter):
    """Our registration rules for every account allauth makes.

    allauth's own sign-up form is not mounted and stays closed: it can take neither an invite
    code nor an emailed code; the documented register routes do. Accounts made from an upstream
    login go through :class:`SocialAccountAdapter` and still get our username rule and throttle.
    """

    def is_open_for_signup(self, request: Any) -> bool:
        return False

    def clean_username(self, username: str, shallow: bool = False) -> str:
        try:
            USERNAME_RULE(username)
        except ValidationError as exc:
            raise ValidationError(exc.messages[0]) from exc
        return super().clean_username(username, shallow=shallow)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: Any, sociallogin: Any) -> bool:
        """New accounts from a provider follow the same switches as local sign-up.

        An invite-only site has no way to take an invite code through a provider's
        redirect, so it admits only people whose accounts already exist; where an emailed
        code is required, only an address the provider verified is accepted.
        """
        switches = registration_switches()
        if not switches.allowed or switches.invite_only:
            return False
        if settings.REGISTRATION_REQUIRES_EMAIL_CODE:
            # The emailed code proves the address; from a provider only its own verification can.
            return any(address.verified for address in sociallogin.email_addresses)
        return True

    def save_user(self, request: Any, sociallogin: Any, form: Any = None) -> Any:
        # The same per-IP registration throttle as the register routes (a 429 is shown by allauth's
        # error page rather than in an API shape: this is a browser redirect flow).
        throttle.check("register-ip", client_ip(request) or "unknown", settings.REGISTER_THROTTLE,
                       message="Too many registrations.")
        return super().save_user(request, sociallogin, form)

    def populate_user(self, request: Any, sociallogin: Any, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        full_name = data.get("name") or " ".join(filter(None, [data.get("first_name"), data.get("last_name")]))
        user.name = (full_name or "")[:100]
        return user
