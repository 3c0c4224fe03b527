"""Creating, changing and removing accounts."""
from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.models import Department, Role, User
from apps.core.errors import Conflict, Invalid


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


def user_set_password(*, user: User, password: str) -> User:
    _validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
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


def user_set_config(*, user: User, config: dict) -> User:
    if not isinstance(config, dict):
        raise Invalid("config must be an object.", field_errors={"config": ["Must be an object."]})
    user.config = config
    user.save(update_fields=["config"])
    return user
