"""Signing in: credential checks with throttling and logging, and JWT issue and revocation."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
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


TOKEN_VERSION_CLAIM = "tv"


def tokens_issue(*, user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    # Copied into the access token below; checked by BearerAuthentication on every request.
    # Read from the row, not the instance: another request may have bumped it since it was loaded.
    refresh[TOKEN_VERSION_CLAIM] = User.objects.filter(pk=user.pk).values_list("token_version", flat=True).first() or 0
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh), expires_in=int(lifetime.total_seconds()))


def _blacklist_once(token: RefreshToken, user: User) -> bool:
    """Blacklist ``token``; False when it already was. The blacklist row is unique per token, so
    of two concurrent refreshes of one token the second insert waits for the first to commit,
    fails, and finds the row: exactly one refresh wins."""
    jti = token[settings.SIMPLE_JWT.get("JTI_CLAIM", "jti")]
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=jti,
        defaults={"user": user, "token": str(token), "created_at": timezone.now(),
                  "expires_at": timezone.now() + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]},
    )
    _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    return created


def tokens_refresh(*, refresh: str) -> TokenPair:
    """Rotate a refresh token (the old one is blacklisted); 401 when it is invalid, revoked,
    of an older token version, or already used by a concurrent refresh."""
    invalid = Unauthorized("Token is invalid or expired.", code="token_not_valid")
    try:
        old = RefreshToken(refresh)
        user = User.objects.get(pk=old["user_id"], is_active=True)
    except (TokenError, User.DoesNotExist, KeyError, ValueError) as exc:
        raise invalid from exc
    if old.get(TOKEN_VERSION_CLAIM, 0) != user.token_version:
        raise invalid
    with transaction.atomic():
        if not _blacklist_once(old, user):
            raise invalid
    return tokens_issue(user=user)


def tokens_revoke_all(*, user: User) -> None:
    """Every token of ``user`` stops working: the version bump refuses older access tokens at once,
    and the outstanding refresh tokens are blacklisted too."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )


def tokens_revoke(*, refresh: str | None, user: User | None = None) -> None:
    """Logout: revoke every token of the user (known from the request or from the refresh token).
    An invalid or missing refresh token is silently accepted (logout is idempotent)."""
    if (user is None or not user.is_authenticated) and refresh:
        try:
            user = User.objects.filter(pk=RefreshToken(refresh)["user_id"]).first()
        except (TokenError, KeyError, ValueError):
            user = None
    if user is not None and user.is_authenticated:
        tokens_revoke_all(user=user)


def login_authenticate(
    *, request: object, login: str, password: str, ip: str | None, user_agent: str, api: str
) -> User:
    """Check credentials; the same 401 for unknown and wrong.

    Throttles, so that nobody can lock anybody else out: hard limits per client IP and per
    account *from that IP* (counted before the password check), and a soft limit per account
    over all IPs that counts failures only and refuses only wrong passwords. A distributed
    guesser is slowed; the owner, with the right password from another address, gets in.
    """
    account = login.strip().lower()
    try:
        throttle.check("login-ip", ip or "unknown", settings.LOGIN_THROTTLE_PER_IP, message="Too many login attempts.")
        throttle.check(
            "login-account-ip", f"{account}|{ip or 'unknown'}", settings.LOGIN_THROTTLE_PER_ACCOUNT,
            message="Too many login attempts.",
        )
    except TooManyRequests as exc:
        login_log_record(
            username=login, user=None, succeeded=False, ip=ip, user_agent=user_agent, message=exc.message, api=api
        )
        raise
    user = authenticate(request, username=login, password=password)
    if user is None:
        wait = throttle.hit("login-account-failures", account, settings.LOGIN_THROTTLE_PER_ACCOUNT_FAILURES)
        message = "Too many failed logins for this account; try again later." if wait else BAD_CREDENTIALS
        login_log_record(
            username=login, user=None, succeeded=False, ip=ip, user_agent=user_agent, message=message, api=api
        )
        if wait:
            raise TooManyRequests(message, retry_after=wait)
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
    tokens_revoke(refresh=refresh, user=getattr(request, "user", None))
    django_logout(request)
