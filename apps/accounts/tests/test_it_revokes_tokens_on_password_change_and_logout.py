"""A password change or a logout, on any API, ends every token issued before it; a refresh token is used once."""
from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.accounts.services.auth import tokens_issue, tokens_refresh
from apps.core.errors import Unauthorized

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-passphrase"


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _change_001(client, password):
    return client.put("/users/me/password", {"currentPassword": password, "newPassword": NEW_PASSWORD}, format="json")


def _change_002(client, password):
    return client.post("/api/user/change-password", {"old_password": password, "new_password": NEW_PASSWORD},
                       format="json")


def _logout_002(client, password):
    return client.post("/api/auth/logout", {}, format="json")


def _logout_002_user(client, password):
    return client.post("/api/user/logout", {}, format="json")


def _logout_003(client, password):
    return client.post("/api/v1/admin/auth/logout", {}, format="json")


@pytest.mark.parametrize("action", [_change_001, _change_002, _logout_002, _logout_002_user, _logout_003])
def test_it_ends_every_earlier_token_of_the_user(alice, password, action):
    other_device = tokens_issue(user=alice)
    this_device = tokens_issue(user=alice)
    assert _bearer(other_device.access).get("/user/me").status_code == 200
    response = action(_bearer(this_device.access), password)
    assert response.status_code == 200, response.content
    for pair in (other_device, this_device):
        assert _bearer(pair.access).get("/user/me").status_code == 401
        with pytest.raises(Unauthorized):
            tokens_refresh(refresh=pair.refresh)
    assert _bearer(tokens_issue(user=alice).access).get("/user/me").status_code == 200


def test_a_logout_with_only_the_refresh_token_ends_the_access_token_too(alice, anon):
    pair = tokens_issue(user=alice)
    assert anon.post("/api/auth/logout", {"refresh_token": pair.refresh}, format="json").status_code == 200
    assert _bearer(pair.access).get("/user/me").status_code == 401


def test_a_console_password_reset_ends_the_users_tokens(alice):
    from apps.accounts.services.users import user_set_password

    pair = tokens_issue(user=alice)
    user_set_password(user=alice, password=NEW_PASSWORD)
    assert _bearer(pair.access).get("/user/me").status_code == 401


def _race(refresh: str) -> list[str]:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            tokens_refresh(refresh=refresh)
            outcomes.append("ok")
        except Unauthorized:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_of_one_token_only_one_succeeds(alice):
    for _ in range(3):
        assert _race(tokens_issue(user=alice).refresh) == ["ok", "refused"]
