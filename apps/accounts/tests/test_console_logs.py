"""003 console ``/api/v1/admin/log/*``: login and operation logs."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts import permissions_catalog as perms
from apps.accounts.models import LoginLog, OperationLog, User
from apps.accounts.services.logs import login_log_record, operation_log_record
from apps.accounts.tests.factories import MenuFactory, RoleFactory

LOG = "/api/v1/admin/log"


def grant(user: User, *codes: str) -> None:
    role = RoleFactory()
    role.menus.set([MenuFactory(perms=code) for code in codes])
    user.roles.add(role)


def login_log(username: str, *, succeeded: bool = True, ip: str = "10.0.0.1", days_ago: int = 0) -> LoginLog:
    log = login_log_record(
        username=username, user=None, succeeded=succeeded, ip=ip, user_agent="pytest", message="", api="admin"
    )
    if days_ago:
        LoginLog.objects.filter(pk=log.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return log


def operation_log(path: str, *, method: str = "POST", status_code: int = 200, username: str = "") -> OperationLog:
    log = operation_log_record(
        user=None, method=method, path=path, status_code=status_code, ip="10.0.0.2", user_agent="pytest",
        duration_ms=3, body={"name": "x"},
    )
    if username:
        OperationLog.objects.filter(pk=log.pk).update(username=username)
    return log


def test_it_lists_login_logs_newest_first_a_page_at_a_time(admin_client):
    login_log("old", days_ago=3)
    login_log("new")
    login_log("newer")

    body = admin_client.get(f"{LOG}/login-logs", {"size": 2}).json()

    assert body["total"] == 3 and body["page"] == 1 and body["size"] == 2
    assert [item["username"] for item in body["items"]] == ["newer", "new"]
    assert body["items"][0]["status"] == 1 and body["items"][0]["ip"] == "10.0.0.1"


def test_it_filters_login_logs(admin_client):
    login_log("alice", succeeded=True, ip="10.0.0.1")
    login_log("alice", succeeded=False, ip="192.168.1.9")
    login_log("bob", succeeded=False, days_ago=10)

    def usernames(**params):
        items = admin_client.get(f"{LOG}/login-logs", params).json()["items"]
        return sorted(item["username"] + ("+" if item["succeeded"] else "-") for item in items)

    assert usernames(username="ALI") == ["alice+", "alice-"]
    assert usernames(status="0") == ["alice-", "bob-"]
    assert usernames(succeeded="true") == ["alice+"]
    assert usernames(ip="192.168") == ["alice-"]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert usernames(start_time=since) == ["alice+", "alice-"]
    until = (timezone.now() - timedelta(days=5)).date().isoformat()
    assert usernames(end_time=until) == ["bob-"]


def test_it_filters_operation_logs(admin_client):
    operation_log("/api/v1/admin/sys/users", method="POST", status_code=201, username="alice")
    operation_log("/api/v1/admin/sys/roles/3", method="DELETE", status_code=409)
    operation_log("/threads", method="PUT")

    def paths(**params):
        return sorted(item["path"] for item in admin_client.get(f"{LOG}/opera-logs", params).json()["items"])

    assert paths(path="/sys/") == ["/api/v1/admin/sys/roles/3", "/api/v1/admin/sys/users"]
    assert paths(method="delete") == ["/api/v1/admin/sys/roles/3"]
    assert paths(status=201) == ["/api/v1/admin/sys/users"]
    assert paths(username="ali") == ["/api/v1/admin/sys/users"]


def test_the_operation_log_records_console_writes(admin_client):
    admin_client.post("/api/v1/admin/sys/roles", {"name": "Ops", "code": "ops"}, format="json")

    items = admin_client.get(f"{LOG}/opera-logs", {"path": "/sys/roles"}).json()["items"]
    assert items[0]["method"] == "POST" and items[0]["status"] == 201
    assert items[0]["username"] == "admin"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("login-logs", {"status": "maybe"}, "status"),
        ("login-logs", {"start_time": "yesterday"}, "start_time"),
        ("opera-logs", {"status": "abc"}, "status"),
        ("opera-logs", {"page": "-1"}, "page"),
        ("opera-logs", {"size": "1000"}, "size"),
    ],
)
def test_it_rejects_bad_filters(admin_client, path, params, field):
    response = admin_client.get(f"{LOG}/{path}", params)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID" and field in body["errors"]


def test_it_deletes_logs(admin_client):
    login = login_log("alice")
    operation = operation_log("/x")

    assert admin_client.delete(f"{LOG}/login-logs/{login.pk}").status_code == 204
    assert admin_client.delete(f"{LOG}/opera-logs/{operation.pk}").status_code == 204
    assert not LoginLog.objects.filter(pk=login.pk).exists()
    assert not OperationLog.objects.filter(pk=operation.pk).exists()
    assert admin_client.delete(f"{LOG}/login-logs/{login.pk}").status_code == 404
    assert admin_client.delete(f"{LOG}/opera-logs/{operation.pk}").json()["code"] == "NOT_FOUND"


def test_reading_does_not_grant_deleting(alice, alice_client):
    grant(alice, perms.LOGIN_LOG_LIST, perms.OPERATION_LOG_LIST)
    log = login_log("bob")

    assert alice_client.get(f"{LOG}/login-logs").status_code == 200
    assert alice_client.get(f"{LOG}/opera-logs").status_code == 200
    assert alice_client.delete(f"{LOG}/login-logs/{log.pk}").status_code == 403
    grant(alice, perms.LOGIN_LOG_DEL)
    assert alice_client.delete(f"{LOG}/login-logs/{log.pk}").status_code == 204


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "login-logs"), ("get", "opera-logs"), ("delete", "login-logs/1"), ("delete", "opera-logs/1")],
)
def test_logs_need_a_signed_in_user_with_the_code(db, anon, charlie, client_for, method, path):
    anonymous = getattr(anon, method)(f"{LOG}/{path}")
    member = getattr(client_for(charlie), method)(f"{LOG}/{path}")

    assert anonymous.status_code == 401 and set(anonymous.json()) == {"detail", "code"}
    assert member.status_code == 403 and member.json()["code"] == "PERMISSION_DENIED"
