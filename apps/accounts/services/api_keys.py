"""Making, checking and revoking the API keys that programs use instead of a sign-in token."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.utils import timezone

from apps.accounts.models import ApiKey, User
from apps.core.errors import Invalid

#: Every key starts with this, so an authenticator can tell a key from a JWT without a lookup.
KEY_PREFIX = "ce-"
#: How much of the key is kept in clear to tell keys apart in lists (the prefix and 8 more).
SHOWN_CHARS = len(KEY_PREFIX) + 8
#: ``last_used_at`` is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_ACTIVE_KEYS = 50


def api_key_hash(secret: str) -> str:
    # A key carries 256 random bits, so a fast unsalted hash is enough: there is nothing to guess.
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(*, owner: User, name: str, expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """A new key for ``owner`` and its secret, which is not kept and cannot be shown again."""
    name = name.strip()
    api_key_check_new(owner=owner, name=name, expires_at=expires_at)
    now = timezone.now()
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(owner=owner, name=name, prefix=secret[:SHOWN_CHARS], key_hash=api_key_hash(secret),
                 created_at=now, expires_at=expires_at)
    key.full_clean()
    key.save(force_insert=True)
    return key, secret


def api_key_check_new(*, owner: User, name: str, expires_at: datetime | None) -> None:
    """Raise :class:`Invalid` unless ``owner`` may make a key with this name and expiry."""
    if not name.strip():
        raise Invalid("A key needs a name.", field_errors={"name": ["This field may not be blank."]})
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise Invalid("The expiry must be in the future.", field_errors={"expires_at": ["Must be in the future."]})
    active = ApiKey.objects.filter(owner=owner, revoked_at__isnull=True).exclude(expires_at__lte=now).count()
    if active >= MAX_ACTIVE_KEYS:
        raise Invalid(f"A user may hold at most {MAX_ACTIVE_KEYS} active keys; revoke one first.")


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke ``api_key`` at once; revoking a revoked key changes nothing."""
    if api_key.revoked_at is None:
        now = timezone.now()
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
        api_key.revoked_at = now
    return api_key


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The active key whose secret this is (with its owner), or None."""
    if not secret.startswith(KEY_PREFIX):
        return None
    key = ApiKey.objects.select_related("owner").filter(key_hash=api_key_hash(secret)).first()
    now = timezone.now()
    if key is None or not key.is_active(now) or not key.owner.is_active:
        return None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
