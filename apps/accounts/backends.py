"""Sign in with either a username or an email address, both case-insensitive."""
from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from apps.accounts.models import User


class UsernameOrEmailBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        login = username or kwargs.get("email")
        if not login or password is None:
            return None
        user = User.objects.filter(Q(username__iexact=login) | Q(email__iexact=login)).first()
        if user is None:
            # Hash anyway so an unknown account takes as long as a wrong password.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
