"""Shared fixtures: the cast (alice owns things, bob is another user, charlie a member, an admin)."""
from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _fresh_cache_namespace():
    # Throttle counters live in the real Redis cache, shared with other processes;
    # a key prefix per test gives each test empty counters without flushing Redis.
    cache.key_prefix = f"codex-test-{uuid.uuid4().hex}"
    yield


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def alice(db) -> User:
    return UserFactory(username="alice", email="alice@example.com", name="Alice")


@pytest.fixture
def bob(db) -> User:
    return UserFactory(username="bob", email="bob@example.com", name="Bob")


@pytest.fixture
def charlie(db) -> User:
    from apps.accounts.services.users import user_assign_roles
    from apps.accounts.models import Role

    user = UserFactory(username="charlie", email="charlie@example.com", name="Charlie")
    role, _ = Role.objects.get_or_create(code="user", defaults={"name": "user"})
    user_assign_roles(user=user, role_ids=[role.pk])
    return user


@pytest.fixture
def admin_user(db) -> User:
    return UserFactory(username="admin", email="admin@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


def bearer_for(user: User) -> str:
    return str(RefreshToken.for_user(user).access_token)


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_for(user)}")
        return client

    return make


@pytest.fixture
def alice_client(alice, client_for) -> APIClient:
    return client_for(alice)


@pytest.fixture
def bob_client(bob, client_for) -> APIClient:
    return client_for(bob)


@pytest.fixture
def admin_client(admin_user, client_for) -> APIClient:
    return client_for(admin_user)
