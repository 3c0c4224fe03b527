"""Sign in with either a username or an email address, both case-insensitive.

With ``LOCAL_LOGIN_ENABLED`` off no backend checks a password, so the admin's login page
and any other form built on ``authenticate()`` refuse passwords as the APIs do.
"""
from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from apps.accounts.models import User


class UsernameOrEmailBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        login = username or kwargs.get("email")
        if not login or password is None or not settings.LOCAL_LOGIN_ENABLED:
            return None
        user = User.objects.filter(Q(username__iexact=login) | Q(email__iexact=login)).first()
        if user is None:
            # Hash anyway so an unknown account takes as long as a wrong password.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


class AllauthBackend(AuthenticationBackend):
    """allauth's backend (its social logins name it in the session), without password logins
    when local login is off."""

    def authenticate(self, request: Any, **credentials: Any) -> Any:
        if credentials.get("password") is not None and not settings.LOCAL_LOGIN_ENABLED:
            return None
        return super().authenticate(request, **credentials)
