"""Request and response shapes of the sign-in, registration and profile routes, per API.

The documented field names (``inviteCode``, ``username_or_email``, ``phonenum``) live here;
services take plain Python names.
"""
from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

username_chars = RegexValidator(r"^[A-Za-z0-9._-]+$", "Use only letters, digits, dots, underscores and hyphens.")


def sage_envelope(name: str, data: serializers.Field | serializers.Serializer) -> serializers.Serializer:
    """The OpenAPI shape of a Sage ``BaseResponse`` around ``data``."""
    return inline_serializer(
        name=name,
        fields={
            "code": serializers.IntegerField(),
            "message": serializers.CharField(),
            "data": data,
            "timestamp": serializers.FloatField(),
        },
    )


class AccountMessageOutput(serializers.Serializer):
    message = serializers.CharField()


# ------------------------------------------------------------------------------
# 000 — CodexEngine
# ------------------------------------------------------------------------------
class CodexRegisterInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    username = serializers.CharField(min_length=3, max_length=50, validators=[username_chars])
    verification_code = serializers.CharField(max_length=12, required=False, allow_blank=True)
    invite_code = serializers.CharField(max_length=64, required=False, allow_blank=True)


class CodexRegisterOutput(serializers.Serializer):
    message = serializers.CharField()
    user_id = serializers.UUIDField()


class CodexLoginInput(serializers.Serializer):
    email = serializers.CharField(max_length=254, help_text="Email address (a username is accepted too).")
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class CodexLoginOutput(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField()
    email = serializers.EmailField()
    username = serializers.CharField()


class CodexUserOutput(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    username = serializers.CharField()


# ------------------------------------------------------------------------------
# 001 — task agent
# ------------------------------------------------------------------------------
class TaskUserOutput(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField()


class TaskRegisterInput(serializers.Serializer):
    username = serializers.CharField(min_length=3, max_length=50, validators=[username_chars])
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(min_length=8, max_length=128, trim_whitespace=False)
    inviteCode = serializers.CharField(max_length=64, required=False, allow_blank=True)  # noqa: N815
    verificationCode = serializers.CharField(max_length=12, required=False, allow_blank=True)  # noqa: N815


class TaskLoginInput(serializers.Serializer):
    username = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TaskAuthOutput(serializers.Serializer):
    token = serializers.CharField()
    user = TaskUserOutput()


class TaskProfileInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False)


class TaskPasswordInput(serializers.Serializer):
    currentPassword = serializers.CharField(max_length=128, trim_whitespace=False)  # noqa: N815
    newPassword = serializers.CharField(min_length=8, max_length=128, trim_whitespace=False)  # noqa: N815


# ------------------------------------------------------------------------------
# 002 — Sage
# ------------------------------------------------------------------------------
class SageSendCodeInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class SageSendCodeOutput(serializers.Serializer):
    expires_in = serializers.IntegerField()
    retry_after = serializers.IntegerField()


class SageRegisterInput(serializers.Serializer):
    username = serializers.CharField(min_length=3, max_length=50, validators=[username_chars])
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    phonenum = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    verification_code = serializers.CharField(max_length=12, required=False, allow_blank=True, allow_null=True)
    invite_code = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)


class UserIdOutput(serializers.Serializer):
    user_id = serializers.UUIDField()


class SageLoginInput(serializers.Serializer):
    username_or_email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class SageLoginOutput(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    expires_in = serializers.IntegerField()


class SageLogoutInput(serializers.Serializer):
    refresh_token = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class SageUserInfoOutput(serializers.Serializer):
    """``UserInfoResponse``: who is signed in, their roles and whether onboarding is done."""

    user_id = serializers.UUIDField(source="user.id")
    username = serializers.CharField(source="user.username")
    nickname = serializers.CharField(source="user.display_name")
    email = serializers.EmailField(source="user.email")
    phonenum = serializers.CharField(source="user.phone")
    avatar = serializers.CharField(source="user.avatar")
    roles = serializers.ListField(child=serializers.CharField())
    is_admin = serializers.BooleanField()
    onboarding_completed = serializers.BooleanField()
    need_onboarding = serializers.SerializerMethodField()

    def get_need_onboarding(self, info: Any) -> bool:
        return not info.onboarding_completed


class SageProviderOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    login_url = serializers.CharField()


class UpstreamLoginParams(serializers.Serializer):
    next = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    redirect_uri = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class SageUserOptionOutput(serializers.Serializer):
    value = serializers.UUIDField(source="id")
    label = serializers.CharField(source="display_name")
    user_id = serializers.UUIDField(source="id")
    username = serializers.CharField()
    nickname = serializers.CharField(source="display_name")


class SageChangePasswordInput(serializers.Serializer):
    old_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class SageListParams(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=100, default=20)
    search = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)


class SageUserItemOutput(serializers.Serializer):
    user_id = serializers.UUIDField(source="id")
    username = serializers.CharField()
    nickname = serializers.CharField(source="display_name")
    email = serializers.EmailField()
    phonenum = serializers.CharField(source="phone")
    is_active = serializers.BooleanField()
    is_admin = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="date_joined")

    def get_is_admin(self, user: Any) -> bool:
        return bool(user.is_superuser or user.is_staff)

    def get_roles(self, user: Any) -> list[str]:
        return [role.code for role in user.roles.all()]


class SageUserListOutput(serializers.Serializer):
    items = SageUserItemOutput(many=True)
    total = serializers.IntegerField()


class SageUserAddInput(serializers.Serializer):
    """``UserAddRequest``."""

    username = serializers.CharField(min_length=3, max_length=50, validators=[username_chars])
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    nickname = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phonenum = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class SageUserIdInput(serializers.Serializer):
    user_id = serializers.UUIDField()


class SageConfigSerializer(serializers.Serializer):
    config = serializers.DictField()


EmptyObject = inline_serializer(name="EmptyObject", fields={})
