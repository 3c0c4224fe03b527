"""Signing in: credential checks with throttling and logging, and JWT issue and revocation."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.http import HttpRequest
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import User
from apps.accounts.services.logs import login_log_record
from apps.core import throttle
from apps.core.errors import Invalid, TooManyRequests, Unauthorized

BAD_CREDENTIALS = "Invalid username or password."
LOCAL_LOGIN_DISABLED = "Local username and password login is not enabled on this server."


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    expires_in: int


def tokens_issue(*, user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh), expires_in=int(lifetime.total_seconds()))


def tokens_refresh(*, refresh: str) -> TokenPair:
    """Rotate a refresh token (the old one is blacklisted); 401 when it is invalid or revoked."""
    try:
        old = RefreshToken(refresh)
        user = User.objects.get(pk=old["user_id"], is_active=True)
        old.blacklist()
    except (TokenError, User.DoesNotExist, KeyError) as exc:
        raise Unauthorized("Token is invalid or expired.", code="token_not_valid") from exc
    return tokens_issue(user=user)


def tokens_revoke(*, refresh: str | None) -> None:
    """Blacklist a refresh token; an already invalid one is silently accepted (logout is idempotent)."""
    if not refresh:
        return
    try:
        RefreshToken(refresh).blacklist()
    except TokenError:
        pass


def login_authenticate(
    *, request: object, login: str, password: str, ip: str | None, user_agent: str, api: str
) -> User:
    """Check credentials, throttled per IP and per account; the same 401 for unknown and wrong."""
    try:
        throttle.check("login-ip", ip or "unknown", settings.LOGIN_THROTTLE_PER_IP, message="Too many login attempts.")
        throttle.check(
            "login-account", login.strip().lower(), settings.LOGIN_THROTTLE_PER_ACCOUNT, message="Too many login attempts."
        )
    except TooManyRequests as exc:
        login_log_record(
            username=login, user=None, succeeded=False, ip=ip, user_agent=user_agent, message=exc.message, api=api
        )
        raise
    user = authenticate(request, username=login, password=password)
    if user is None:
        login_log_record(
            username=login, user=None, succeeded=False, ip=ip, user_agent=user_agent, message=BAD_CREDENTIALS, api=api
        )
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    login_log_record(username=user.username, user=user, succeeded=True, ip=ip, user_agent=user_agent, message="", api=api)
    return user


def local_login_authenticate(
    *, request: object, login: str, password: str, ip: str | None, user_agent: str, api: str
) -> User:
    """The product APIs' password login: refused outright when ``LOCAL_LOGIN_ENABLED`` is off."""
    if not settings.LOCAL_LOGIN_ENABLED:
        raise Invalid(LOCAL_LOGIN_DISABLED, code="local_login_disabled")
    return login_authenticate(request=request, login=login, password=password, ip=ip, user_agent=user_agent, api=api)


def session_login(
    *, request: HttpRequest, login: str, password: str, ip: str | None, user_agent: str, api: str
) -> tuple[User, TokenPair]:
    """Password login that also starts a Django session: Sage clients ride on the cookie as well as the tokens."""
    user = local_login_authenticate(request=request, login=login, password=password, ip=ip, user_agent=user_agent, api=api)
    django_login(request, user, backend=getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0]))
    return user, tokens_issue(user=user)


def session_end(*, request: HttpRequest, refresh: str | None) -> None:
    tokens_revoke(refresh=refresh)
    django_logout(request)
