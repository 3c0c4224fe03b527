"""Creating, changing and removing accounts."""
from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from apps.accounts.models import Department, Role, User
from apps.accounts.registration import registration_switches
from apps.accounts.services import codes
from apps.accounts.services.auth import tokens_revoke_all
from apps.core import throttle
from apps.core.errors import Conflict, Forbidden, Invalid, NotFound

REGISTRATION_DISABLED = "Local account registration is not enabled on this server."
WRONG_CURRENT_PASSWORD = "The current password is incorrect."


def _validate_password(password: str, user: User | None = None) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), field_errors={"password": list(exc.messages)}) from exc


def _ensure_unique(*, username: str | None = None, email: str | None = None, exclude: User | None = None) -> None:
    others = User.objects.all() if exclude is None else User.objects.exclude(pk=exclude.pk)
    if username is not None and others.filter(username__iexact=username).exists():
        raise Conflict("A user with this username already exists.", field_errors={"username": ["Already taken."]})
    if email and others.filter(email__iexact=email).exists():
        raise Conflict("A user with this email already exists.", field_errors={"email": ["Already registered."]})


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    password: str | None,
    name: str = "",
    nickname: str = "",
    phone: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
    department: Department | None = None,
    role_ids: Iterable[int] = (),
) -> User:
    """Create an account; 409 when the username or email (case-insensitive) is taken."""
    _ensure_unique(username=username, email=email)
    user = User(
        username=username,
        email=email.strip(),
        name=name,
        nickname=nickname,
        phone=phone,
        is_staff=is_staff,
        is_superuser=is_superuser,
        department=department,
    )
    if password is None:
        user.set_unusable_password()
    else:
        _validate_password(password, user)
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict("A user with this username or email already exists.") from exc
    role_ids = list(role_ids)
    if role_ids:
        user_assign_roles(user=user, role_ids=role_ids)
    return user


@transaction.atomic
def user_update(*, user: User, **fields: object) -> User:
    """Change profile fields; ``username``/``email`` stay unique case-insensitively."""
    allowed = {"username", "email", "name", "nickname", "phone", "avatar", "department", "is_active", "is_staff"}
    unknown = set(fields) - allowed
    if unknown:
        raise Invalid(f"Unknown fields: {', '.join(sorted(unknown))}.")
    _ensure_unique(username=fields.get("username"), email=fields.get("email"), exclude=user)  # type: ignore[arg-type]
    for name, value in fields.items():
        setattr(user, name, value)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise Conflict("A user with this username or email already exists.") from exc
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str) -> User:
    """A new password; every token issued before it stops working."""
    _validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    tokens_revoke_all(user=user)
    return user


@transaction.atomic
def user_assign_roles(*, user: User, role_ids: Iterable[int]) -> User:
    role_ids = set(role_ids)
    roles = list(Role.objects.filter(pk__in=role_ids))
    if len(roles) != len(role_ids):
        raise Invalid("Unknown role.", field_errors={"role_ids": ["One or more roles do not exist."]})
    user.roles.set(roles)
    user.__dict__.pop("_menu_codes", None)
    return user


def user_delete(*, user: User) -> None:
    user.delete()


def registration_ensure_open() -> None:
    if not settings.LOCAL_LOGIN_ENABLED or not registration_switches().allowed:
        raise Invalid(REGISTRATION_DISABLED, code="registration_disabled")


def user_registration_code_send(*, email: str, ip: str | None) -> codes.SentCode:
    """Email a registration code, only while local registration is open."""
    registration_ensure_open()
    return codes.verification_code_send(email=email, ip=ip)


def user_register(
    *,
    username: str,
    email: str,
    password: str,
    ip: str | None,
    name: str = "",
    phone: str = "",
    invite_code: str | None = None,
    verification_code: str | None = None,
) -> User:
    """Self-service sign-up, the same rules on every API.

    Registration must be open (``LOCAL_LOGIN_ENABLED`` and the ``allow_registration``
    setting); an invite code is spent when registration is invite-only or one is given, and
    an emailed code when ``REGISTRATION_REQUIRES_EMAIL_CODE`` is on, one was sent to this
    address, or one is given.
    """
    throttle.check("register-ip", ip or "unknown", settings.REGISTER_THROTTLE, message="Too many registrations.")
    registration_ensure_open()
    invite_only = registration_switches().invite_only
    if invite_only and not invite_code:
        raise Invalid("An invite code is required.", field_errors={"invite_code": ["This field is required."]})
    checked_code = None
    # A code that was sent, or given, is checked even where codes are optional: otherwise a
    # wrong code would still make the account the client believed it was proving an email for.
    if settings.REGISTRATION_REQUIRES_EMAIL_CODE or verification_code or codes.verification_code_sent(email=email):
        if not verification_code:
            raise Invalid(
                "A verification code is required.", field_errors={"verification_code": ["This field is required."]}
            )
        if not email:
            raise Invalid("An email address is required.", field_errors={"email": ["This field is required."]})
        # Checked outside the transaction below so a wrong guess is counted even though the sign-up fails.
        checked_code = codes.verification_code_check(email=email, code=verification_code)
    _ensure_unique(username=username, email=email)
    with transaction.atomic():
        if checked_code is not None:
            codes.verification_code_consume(code=checked_code)
        # A given invite code must be valid even when registration is open (NOTES.md: 400).
        if invite_only or invite_code:
            codes.invite_code_consume(code=invite_code or "")
        return user_create(username=username, email=email, password=password, name=name, phone=phone)


def user_change_password(*, user: User, current_password: str, new_password: str) -> User:
    """Change one's own password; a wrong current password is 403 (the caller is known, the proof is not)."""
    if not user.check_password(current_password):
        raise Forbidden(WRONG_CURRENT_PASSWORD, code="wrong_password")
    return user_set_password(user=user, password=new_password)


def user_delete_by_admin(*, actor: User, user_id: object) -> None:
    """An administrator removes an account; never their own, and only a superuser removes a superuser."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("User not found.")
    if user.pk == actor.pk:
        raise Invalid("You cannot delete your own account.", field_errors={"user_id": ["This is your own account."]})
    if user.is_superuser and not actor.is_superuser:
        raise Forbidden("Only a superuser can delete a superuser.")
    try:
        with transaction.atomic():
            user_delete(user=user)
    except ProtectedError as exc:
        raise Conflict("This user still owns records that must be removed first.") from exc


def user_set_config(*, user: User, config: dict) -> User:
    if not isinstance(config, dict):
        raise Invalid("config must be an object.", field_errors={"config": ["Must be an object."]})
    user.config = config
    user.save(update_fields=["config"])
    return user
