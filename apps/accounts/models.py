"""Users, roles, departments, menus, API keys, and the logs and codes around signing in."""
from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Department(models.Model):
    """A node of the organisation tree."""

    name = models.CharField(max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, related_name="children", on_delete=models.PROTECT)
    sort = models.IntegerField(default=0)
    leader = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                name="department_unique_name_per_parent",
                violation_error_message="A department with this name already exists under that parent.",
            ),
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")),
                name="department_not_own_parent",
                violation_error_message="A department cannot be its own parent.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Menu(models.Model):
    """A node of the console's menu tree; buttons carry permission codes like ``sys:user:add``."""

    class Type(models.IntegerChoices):
        DIRECTORY = 0, "directory"
        MENU = 1, "menu"
        BUTTON = 2, "button"

    title = models.CharField(max_length=100)
    name = models.CharField(max_length=100, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, related_name="children", on_delete=models.PROTECT)
    type = models.PositiveSmallIntegerField(choices=Type.choices, default=Type.MENU)
    path = models.CharField(max_length=200, blank=True)
    component = models.CharField(max_length=200, blank=True)
    perms = models.CharField(max_length=100, blank=True, db_index=True)
    icon = models.CharField(max_length=100, blank=True)
    sort = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    is_hidden = models.BooleanField(default=False)
    remark = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")),
                name="menu_not_own_parent",
                violation_error_message="A menu cannot be its own parent.",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Role(models.Model):
    name = models.CharField(max_length=50, unique=True)
    code = models.SlugField(max_length=50, unique=True)
    description = models.CharField(max_length=500, blank=True)
    is_active = models.BooleanField(default=True)
    menus = models.ManyToManyField(Menu, blank=True, related_name="roles")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class CodexUserManager(UserManager):
    def get_by_natural_key(self, username: str) -> User:
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


class User(AbstractUser):
    """One account for all five APIs."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField("email address", blank=True)
    name = models.CharField(max_length=100, blank=True)
    nickname = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    avatar = models.URLField(max_length=500, blank=True)
    department = models.ForeignKey(Department, null=True, blank=True, related_name="users", on_delete=models.SET_NULL)
    roles = models.ManyToManyField(Role, blank=True, related_name="users")
    config = models.JSONField(default=dict, blank=True)
    # Every JWT carries the version it was issued under; a password change or a logout bumps
    # it, and tokens of an older version are refused on every request (and cannot refresh).
    token_version = models.PositiveIntegerField(default=0, editable=False)

    objects = CodexUserManager()

    class Meta:
        ordering = ["date_joined"]
        constraints = [
            # Upstream logins (GitHub without a public email) and admin-made accounts may
            # have no email; only real addresses must be unique.
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="user_email_unique_ci",
                violation_error_message="A user with this email already exists.",
            ),
            models.UniqueConstraint(
                Lower("username"),
                name="user_username_unique_ci",
                violation_error_message="A user with this username already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def display_name(self) -> str:
        return self.name or self.nickname or self.username

    def menu_permission_codes(self) -> frozenset[str]:
        cached = getattr(self, "_menu_codes", None)
        if cached is None:
            cached = frozenset(
                Menu.objects.filter(roles__users=self, roles__is_active=True, is_active=True)
                .exclude(perms="")
                .values_list("perms", flat=True)
            )
            self._menu_codes = cached
        return cached

    def has_menu_permission(self, code: str) -> bool:
        return bool(self.is_active and (self.is_superuser or code in self.menu_permission_codes()))


class LoginLog(models.Model):
    user = models.ForeignKey(User, null=True, blank=True, related_name="login_logs", on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, db_index=True)
    succeeded = models.BooleanField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    message = models.CharField(max_length=255, blank=True)
    api = models.CharField(max_length=20, blank=True, help_text="Which API's login route was used.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.username} {'ok' if self.succeeded else 'failed'} {self.created_at:%Y-%m-%d %H:%M}"


class OperationLog(models.Model):
    """One mutating API call, recorded by the operation-log middleware."""

    user = models.ForeignKey(User, null=True, blank=True, related_name="operation_logs", on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True, db_index=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500, db_index=True)
    status_code = models.PositiveSmallIntegerField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField()
    body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status_code}"


class VerificationCode(models.Model):
    """An emailed one-time code; only its hash is stored."""

    class Purpose(models.TextChoices):
        REGISTER = "register", "register"

    email = models.EmailField(db_index=True)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.REGISTER)
    code_hash = models.CharField(max_length=128)
    expires_at = models.DateTimeField()
    retry_after = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.purpose} code for {self.email}"


class InviteCode(models.Model):
    code = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, blank=True, related_name="invite_codes", on_delete=models.SET_NULL)
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(uses__lte=models.F("max_uses")),
                name="invite_code_uses_within_max",
                violation_error_message="This invite code has been used up.",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ApiKey(models.Model):
    """A secret a program sends as ``Authorization: Bearer ce-...`` to act as its owner.

    Only the SHA-256 of the secret is kept: the secret itself is shown once, when the
    key is made. ``prefix`` (the first characters) lets people tell their keys apart.
    A key is never deleted, only revoked, so the record of who had access remains.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(User, related_name="api_keys", on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        indexes = [models.Index(fields=["owner", "-created_at"], name="apikey_owner_recent")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(name=""), name="apikey_name_not_empty", violation_error_message="A key needs a name."
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
