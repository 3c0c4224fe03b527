"""Request and response shapes of the 003 admin console (``/api/v1/admin/...``)."""
from __future__ import annotations

from rest_framework import serializers

from apps.accounts.models import Department, LoginLog, Menu, OperationLog, Role, User


def page_serializer(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """``{items, total, page, size}`` around ``item``, named for the schema."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "items": item(many=True),
            "total": serializers.IntegerField(),
            "page": serializers.IntegerField(),
            "size": serializers.IntegerField(),
        },
    )


class PageQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)
    size = serializers.IntegerField(min_value=1, max_value=100, default=20, help_text="Also accepted as page_size.")


# ------------------------------------------------------------------------------
# Auth
# ------------------------------------------------------------------------------
class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    captcha_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    captcha_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class LoginUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    username = serializers.CharField()
    nickname = serializers.CharField()


class TokenOutputSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField(default="Bearer")
    expires_in = serializers.IntegerField()


class LoginOutputSerializer(TokenOutputSerializer):
    user = LoginUserSerializer()


class RefreshInputSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=4096)


class LogoutInputSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=4096, required=False, allow_blank=True, default="")


class CaptchaOutputSerializer(serializers.Serializer):
    captcha_id = serializers.CharField()
    image = serializers.CharField(help_text="A PNG as a data: URI.")
    expires_in = serializers.IntegerField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


# ------------------------------------------------------------------------------
# Users
# ------------------------------------------------------------------------------
class RoleBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "name", "code"]


class UserOutputSerializer(serializers.ModelSerializer):
    dept_id = serializers.IntegerField(source="department_id", allow_null=True)
    dept_name = serializers.CharField(source="department.name", default=None, allow_null=True)
    roles = RoleBriefSerializer(many=True)

    class Meta:
        model = User
        fields = [
            "id", "username", "email", "name", "nickname", "phone", "avatar", "is_active", "is_staff",
            "is_superuser", "dept_id", "dept_name", "roles", "last_login", "date_joined",
        ]


class UserFilterSerializer(PageQuerySerializer):
    """The list's query parameters, for the schema; ``apps.accounts.filters.UserFilterSet`` applies them."""

    username = serializers.CharField(required=False)
    email = serializers.CharField(required=False)
    is_active = serializers.BooleanField(required=False)
    dept = serializers.IntegerField(required=False, help_text="A department; its sub-departments are included.")


class UserInputSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[A-Za-z0-9._@+-]+$", min_length=3, max_length=150)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    password = serializers.CharField(min_length=8, max_length=4096, trim_whitespace=False, write_only=True)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    nickname = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    avatar = serializers.URLField(max_length=500, required=False, allow_blank=True)
    dept_id = serializers.IntegerField(required=False, allow_null=True)
    role_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=100)
    is_active = serializers.BooleanField(required=False)
    is_staff = serializers.BooleanField(required=False)


class UserUpdateSerializer(UserInputSerializer):
    """Every field optional: a PUT changes what it names."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


# ------------------------------------------------------------------------------
# Roles
# ------------------------------------------------------------------------------
class RoleOutputSerializer(serializers.ModelSerializer):
    menu_ids = serializers.SerializerMethodField()

    class Meta:
        model = Role
        fields = ["id", "name", "code", "description", "is_active", "menu_ids", "created_at", "updated_at"]

    def get_menu_ids(self, role: Role) -> list[int]:
        return sorted(menu.pk for menu in role.menus.all())


class RoleInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    code = serializers.SlugField(max_length=50)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    menu_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=1000)


class RoleUpdateSerializer(RoleInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class RoleMenusSerializer(serializers.Serializer):
    menu_ids = serializers.ListField(child=serializers.IntegerField(), max_length=1000, allow_empty=True)


# ------------------------------------------------------------------------------
# Departments and menus (trees)
# ------------------------------------------------------------------------------
class DepartmentNodeSerializer(serializers.ModelSerializer):
    parent_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Department
        fields = [
            "id", "name", "parent_id", "sort", "leader", "phone", "email", "is_active", "created_at", "updated_at",
        ]


class DepartmentTreeSerializer(DepartmentNodeSerializer):
    class Meta(DepartmentNodeSerializer.Meta):
        fields = [*DepartmentNodeSerializer.Meta.fields, "children"]


DepartmentTreeSerializer._declared_fields["children"] = DepartmentTreeSerializer(
    many=True, source="tree_children", read_only=True
)


class DepartmentInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    parent_id = serializers.IntegerField(required=False, allow_null=True)
    sort = serializers.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)
    leader = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class DepartmentUpdateSerializer(DepartmentInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class MenuNodeSerializer(serializers.ModelSerializer):
    parent_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Menu
        fields = [
            "id", "title", "name", "parent_id", "type", "path", "component", "perms", "icon", "sort", "is_active",
            "is_hidden", "remark", "created_at", "updated_at",
        ]


class MenuTreeSerializer(MenuNodeSerializer):
    class Meta(MenuNodeSerializer.Meta):
        fields = [*MenuNodeSerializer.Meta.fields, "children"]


MenuTreeSerializer._declared_fields["children"] = MenuTreeSerializer(many=True, source="tree_children", read_only=True)


class MenuInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    parent_id = serializers.IntegerField(required=False, allow_null=True)
    type = serializers.ChoiceField(choices=Menu.Type.choices, required=False)
    path = serializers.CharField(max_length=200, required=False, allow_blank=True)
    component = serializers.CharField(max_length=200, required=False, allow_blank=True)
    perms = serializers.CharField(max_length=100, required=False, allow_blank=True)
    icon = serializers.CharField(max_length=100, required=False, allow_blank=True)
    sort = serializers.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)
    is_active = serializers.BooleanField(required=False)
    is_hidden = serializers.BooleanField(required=False)
    remark = serializers.CharField(max_length=500, required=False, allow_blank=True)


class MenuUpdateSerializer(MenuInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


# ------------------------------------------------------------------------------
# Logs
# ------------------------------------------------------------------------------
class LoginLogSerializer(serializers.ModelSerializer):
    user_id = serializers.UUIDField(allow_null=True)
    status = serializers.IntegerField(source="succeeded", help_text="1 succeeded, 0 failed.")

    class Meta:
        model = LoginLog
        fields = ["id", "user_id", "username", "status", "succeeded", "ip", "user_agent", "message", "api", "created_at"]


class OperationLogSerializer(serializers.ModelSerializer):
    user_id = serializers.UUIDField(allow_null=True)
    status = serializers.IntegerField(source="status_code")
    body = serializers.JSONField(allow_null=True)

    class Meta:
        model = OperationLog
        fields = [
            "id", "user_id", "username", "method", "path", "status", "status_code", "ip", "user_agent",
            "duration_ms", "body", "created_at",
        ]


class LogFilterSerializer(PageQuerySerializer):
    username = serializers.CharField(required=False)
    ip = serializers.CharField(required=False)
    start_time = serializers.DateTimeField(required=False)
    end_time = serializers.DateTimeField(required=False)


class LoginLogFilterSerializer(LogFilterSerializer):
    status = serializers.BooleanField(required=False, help_text="1/true succeeded, 0/false failed.")
    api = serializers.CharField(required=False)


class OperationLogFilterSerializer(LogFilterSerializer):
    status = serializers.IntegerField(required=False, help_text="The HTTP status code.")
    method = serializers.CharField(required=False)
    path = serializers.CharField(required=False)


UserPageSerializer = page_serializer(UserOutputSerializer, "AdminUserPage")
LoginLogPageSerializer = page_serializer(LoginLogSerializer, "AdminLoginLogPage")
OperationLogPageSerializer = page_serializer(OperationLogSerializer, "AdminOperationLogPage")


# ------------------------------------------------------------------------------
# Monitor
# ------------------------------------------------------------------------------
class CpuSerializer(serializers.Serializer):
    percent = serializers.FloatField()
    logical_count = serializers.IntegerField()
    physical_count = serializers.IntegerField()
    load_average = serializers.ListField(child=serializers.FloatField())


class MemorySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    available = serializers.IntegerField()
    used = serializers.IntegerField()
    percent = serializers.FloatField()


class DiskSerializer(serializers.Serializer):
    path = serializers.CharField()
    total = serializers.IntegerField()
    used = serializers.IntegerField()
    free = serializers.IntegerField()
    percent = serializers.FloatField()


class ProcessSerializer(serializers.Serializer):
    pid = serializers.IntegerField()
    rss = serializers.IntegerField()
    threads = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    uptime_seconds = serializers.IntegerField()


class VersionsSerializer(serializers.Serializer):
    python = serializers.CharField()
    django = serializers.CharField()
    postgres = serializers.CharField()
    platform = serializers.CharField()


class ServerStatsSerializer(serializers.Serializer):
    cpu = CpuSerializer()
    memory = MemorySerializer()
    disk = DiskSerializer()
    process = ProcessSerializer()
    versions = VersionsSerializer()
    hostname = serializers.CharField()
    boot_time = serializers.DateTimeField()


class KeyspaceSerializer(serializers.Serializer):
    keys = serializers.IntegerField()
    expires = serializers.IntegerField()
    avg_ttl = serializers.IntegerField()


class RedisStatsSerializer(serializers.Serializer):
    version = serializers.CharField()
    mode = serializers.CharField()
    uptime_seconds = serializers.IntegerField()
    connected_clients = serializers.IntegerField()
    used_memory = serializers.IntegerField()
    used_memory_human = serializers.CharField()
    used_memory_peak_human = serializers.CharField()
    maxmemory_human = serializers.CharField()
    total_commands_processed = serializers.IntegerField()
    keyspace_hits = serializers.IntegerField()
    keyspace_misses = serializers.IntegerField()
    hit_rate = serializers.FloatField(allow_null=True)
    keyspace = serializers.DictField(child=KeyspaceSerializer())
