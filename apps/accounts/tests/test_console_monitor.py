"""003 console ``/api/v1/admin/monitor/*``: the server and Redis."""
from __future__ import annotations

import os
import socket

import pytest
from django.conf import settings

from apps.accounts import permissions_catalog as perms
from apps.accounts.tests.factories import MenuFactory, RoleFactory

MONITOR = "/api/v1/admin/monitor"


def test_it_reports_the_server(admin_client):
    response = admin_client.get(f"{MONITOR}/server")

    assert response.status_code == 200
    body = response.json()
    assert body["cpu"]["logical_count"] >= 1
    assert body["memory"]["total"] > body["memory"]["available"] > 0
    assert body["disk"]["total"] > 0
    assert body["process"]["pid"] == os.getpid()
    assert body["process"]["rss"] > 0 and body["process"]["threads"] >= 1
    assert body["versions"]["postgres"].split(".")[0] == "18"
    assert body["versions"]["django"].startswith("5.2")
    assert body["hostname"] == socket.gethostname()


@pytest.mark.skipif(not settings.REDIS_AVAILABLE, reason="needs the real Redis")
def test_it_reports_redis(admin_client):
    response = admin_client.get(f"{MONITOR}/redis")

    assert response.status_code == 200
    body = response.json()
    assert body["version"] and body["used_memory_human"]
    assert body["connected_clients"] >= 1
    assert body["uptime_seconds"] >= 0
    assert all(name.startswith("db") for name in body["keyspace"])


def test_it_answers_503_when_redis_is_down(admin_client, settings):
    # Port 1 on localhost refuses connections: a Redis that is not there.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = admin_client.get(f"{MONITOR}/redis")

    assert response.status_code == 503
    assert response.json() == {"detail": "Redis does not answer.", "code": "REDIS_UNAVAILABLE"}


def test_a_role_with_the_code_may_watch_the_server_only(alice, alice_client):
    role = RoleFactory()
    role.menus.set([MenuFactory(perms=perms.MONITOR_SERVER)])
    alice.roles.add(role)

    assert alice_client.get(f"{MONITOR}/server").status_code == 200
    assert alice_client.get(f"{MONITOR}/redis").status_code == 403


@pytest.mark.parametrize("path", ["server", "redis"])
def test_monitoring_needs_a_signed_in_user_with_the_code(db, anon, charlie, client_for, path):
    anonymous = anon.get(f"{MONITOR}/{path}")
    member = client_for(charlie).get(f"{MONITOR}/{path}")

    assert anonymous.status_code == 401 and set(anonymous.json()) == {"detail", "code"}
    assert member.status_code == 403 and set(member.json()) == {"detail", "code"}
