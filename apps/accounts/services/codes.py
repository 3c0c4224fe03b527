"""One-time codes: emailed registration codes and invite codes."""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from apps.accounts.models import InviteCode, User, VerificationCode
from apps.core import throttle
from apps.core.errors import Conflict, Invalid, ServiceUnavailable, TooManyRequests

logger = logging.getLogger(__name__)

#: Wrong guesses allowed per code; six digits and five tries give a 1 in 200,000 chance.
MAX_CODE_ATTEMPTS = 5
INVALID_CODE = "The verification code is invalid or has expired."
INVALID_INVITE = "The invite code is invalid, used up or expired."


class MailUnavailable(ServiceUnavailable):
    code = "mail_unavailable"


@dataclass(frozen=True)
class SentCode:
    expires_in: int
    retry_after: int


def _code_hash(*, email: str, code: str) -> str:
    # A keyed hash: a leaked table cannot be brute-forced without the secret key.
    return salted_hmac("accounts.verification-code", f"{email.lower()}:{code}").hexdigest()


def verification_code_send(
    *, email: str, ip: str | None, purpose: str = VerificationCode.Purpose.REGISTER
) -> SentCode:
    """Email a fresh six-digit code; 429 while the previous one is inside its retry-after window."""
    email = email.strip()
    throttle.check("email-code-ip", ip or "unknown", settings.EMAIL_CODE_THROTTLE, message="Too many codes requested.")
    throttle.check("email-code", email.lower(), settings.EMAIL_CODE_THROTTLE, message="Too many codes requested.")
    if purpose == VerificationCode.Purpose.REGISTER and User.objects.filter(email__iexact=email).exists():
        raise Conflict("A user with this email already exists.", field_errors={"email": ["Already registered."]})
    now = timezone.now()
    with transaction.atomic():
        # Two simultaneous requests for one address must not both pass the retry-after check.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"verification-code:{email.lower()}"])
        latest = (
            VerificationCode.objects.filter(email__iexact=email, purpose=purpose, used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if latest is not None and latest.retry_after > now:
            wait = max(1, int((latest.retry_after - now).total_seconds() + 0.999))
            raise TooManyRequests("A code was sent recently; wait before asking again.", retry_after=wait)
        code = f"{secrets.randbelow(1_000_000):06d}"
        VerificationCode.objects.create(
            email=email,
            purpose=purpose,
            code_hash=_code_hash(email=email, code=code),
            expires_at=now + timedelta(seconds=settings.EMAIL_CODE_TTL_SECONDS),
            retry_after=now + timedelta(seconds=settings.EMAIL_CODE_RETRY_SECONDS),
        )
        minutes = settings.EMAIL_CODE_TTL_SECONDS // 60
        try:
            # Sent inside the transaction: if the mail cannot go, no code row is left behind
            # to block the retry.
            send_mail(
                subject=f"Your {settings.APP_NAME} verification code",
                message=f"Your verification code is {code}. It expires in {minutes} minutes.",
                from_email=None,
                recipient_list=[email],
            )
        except Exception as exc:  # SMTP errors come in many classes; none may become a 500
            logger.warning("verification mail to %s failed: %s", email, exc)
            raise MailUnavailable("The verification email could not be sent; try again later.") from exc
    return SentCode(expires_in=settings.EMAIL_CODE_TTL_SECONDS, retry_after=settings.EMAIL_CODE_RETRY_SECONDS)


def verification_code_sent(*, email: str, purpose: str = VerificationCode.Purpose.REGISTER) -> bool:
    """Whether a code was sent to ``email`` and not yet spent (expired ones count: the flow was begun)."""
    if not email.strip():
        return False
    return VerificationCode.objects.filter(email__iexact=email.strip(), purpose=purpose, used_at__isnull=True).exists()


def verification_code_check(
    *, email: str, code: str, purpose: str = VerificationCode.Purpose.REGISTER
) -> VerificationCode:
    """Find the live code that matches; every guess counts, and is committed even if the caller fails later."""
    invalid = Invalid(INVALID_CODE, field_errors={"verification_code": [INVALID_CODE]}, code="invalid_code")
    row = (
        VerificationCode.objects.filter(
            email__iexact=email.strip(), purpose=purpose, used_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-created_at")
        .first()
    )
    if row is None:
        raise invalid
    counted = VerificationCode.objects.filter(pk=row.pk, attempts__lt=MAX_CODE_ATTEMPTS).update(
        attempts=F("attempts") + 1
    )
    if not counted or not constant_time_compare(row.code_hash, _code_hash(email=email.strip(), code=code.strip())):
        raise invalid
    return row


def verification_code_consume(*, code: VerificationCode) -> None:
    """Mark a checked code used; the conditional update lets only one registration spend it."""
    if not VerificationCode.objects.filter(pk=code.pk, used_at__isnull=True).update(used_at=timezone.now()):
        raise Invalid(INVALID_CODE, field_errors={"verification_code": [INVALID_CODE]}, code="invalid_code")


def invite_code_consume(*, code: str) -> InviteCode:
    """Spend one use of an invite code with a conditional update, so concurrent sign-ups cannot overspend it."""
    now = timezone.now()
    spent = (
        InviteCode.objects.filter(code=code.strip(), is_active=True, uses__lt=F("max_uses"))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .update(uses=F("uses") + 1)
    )
    if not spent:
        raise Invalid(INVALID_INVITE, field_errors={"invite_code": [INVALID_INVITE]}, code="invalid_invite_code")
    return InviteCode.objects.get(code=code.strip())
