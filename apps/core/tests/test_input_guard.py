"""Text PostgreSQL cannot store, and numbers no column can hold, are a 400 at the edge of every API."""
from __future__ import annotations

import json

import pytest
from rest_framework import serializers

from apps.accounts.models import User
from apps.core.limits import BIGINT_MAX

NUL = "a\u0000b"
SURROGATE = "a\ud800b"

# One JSON route per API, the field sent, and where each API's error shape names the field.
ROUTES = [
    ("/register", "username", "codex"),
    ("/auth/register", "username", "task"),
    ("/api/auth/register", "username", "sage"),
    ("/api/v1/admin/auth/login", "username", "admin"),
    ("/api/projects", "name", "platform"),
]


def _named(body: dict, style: str, field: str) -> bool:
    if style == "task":
        return field in {error["field"] for error in body["validationErrors"]}
    if style == "sage":
        return body["code"] == 400 and field in body["data"]["errors"]
    return field in body["errors"]


def _post_json(client, path: str, payload: dict):
    # json.dumps keeps a lone surrogate as the escape \ud800, as a hostile client sends it.
    return client.post(path, data=json.dumps(payload), content_type="application/json")


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "field", "style"), ROUTES)
@pytest.mark.parametrize("text", [NUL, SURROGATE])
def test_it_refuses_unstorable_text_in_a_json_body_in_each_apis_shape(alice_client, path, field, style, text):
    response = _post_json(alice_client, path, {field: text, "password": "x" * 12, "email": "n@example.com"})
    assert response.status_code == 400
    assert _named(response.json(), style, field)
    assert not User.objects.filter(username__startswith="a").exclude(username="alice").exists()


# Routes whose views parse forms; a JSON-only view answers 415 to a form without parsing it.
FORM_ROUTES = [
    ("/threads", "codex"),
    ("/api/tasks", "task"),
    ("/api/knowledge-base/add", "sage"),
    ("/api/v1/admin/sys/roles", "admin"),
    ("/api/projects", "platform"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "style"), FORM_ROUTES)
@pytest.mark.parametrize("fmt", ["multipart", None])
def test_it_refuses_nul_in_a_form_body(alice_client, path, style, fmt):
    if fmt is None:
        response = alice_client.post(path, "name=a%00b", content_type="application/x-www-form-urlencoded")
    else:
        response = alice_client.post(path, {"name": NUL}, format=fmt)
    assert response.status_code == 400
    assert _named(response.json(), style, "name")


@pytest.mark.django_db
def test_a_json_only_view_still_answers_415_to_a_form(alice_client):
    assert alice_client.post("/auth/register", {"username": NUL}).status_code == 415


@pytest.mark.django_db
def test_it_refuses_nul_in_a_multipart_file_name(alice_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("bad\u0000name.txt", b"hello")
    response = alice_client.post("/api/knowledge-base/doc/add_by_files", {"files": upload}, format="multipart")
    # Django's multipart parser drops what follows a NUL in a file name; either way, no 500.
    assert response.status_code < 500


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "style"),
    [("/threads", "codex"), ("/api/tasks", "task"), ("/api/conversations", "sage"),
     ("/api/v1/admin/sys/users", "admin"), ("/api/projects", "platform")],
)
def test_it_refuses_nul_in_the_query_string(alice_client, admin_user, client_for, path, style):
    client = client_for(admin_user) if style == "admin" else alice_client
    response = client.get(f"{path}?search=a%00b")
    assert response.status_code == 400
    assert _named(response.json(), style, "search")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "style"),
    [("/threads/a%00b", "codex"), ("/api/tasks/a%00b", "task"), ("/api/conversations/a%00b/messages", "sage"),
     ("/api/v1/agent/rag/resources/a%00b", "admin"), ("/api/projects/a%00b", "platform")],
)
def test_it_refuses_nul_in_the_path(alice_client, path, style):
    response = alice_client.get(path)
    assert response.status_code == 400
    assert _named(response.json(), style, "path")


@pytest.mark.django_db
def test_it_names_a_nested_field_and_a_key(alice_client):
    response = _post_json(alice_client, "/api/projects", {"name": "ok", "meta": {"tags": ["fine", NUL]}})
    assert response.status_code == 400
    assert "meta.tags[1]" in response.json()["errors"]
    response = _post_json(alice_client, "/api/projects", {"name": "ok", "k\u0000": 1})
    assert "k\\u0000" in response.json()["errors"]


@pytest.mark.django_db
def test_it_refuses_a_json_integer_beyond_bigint(admin_user, client_for):
    response = _post_json(client_for(admin_user), "/api/v1/admin/sys/users", {"role_ids": [BIGINT_MAX + 1]})
    assert response.status_code == 400
    assert "role_ids[0]" in response.json()["errors"]


@pytest.mark.django_db
def test_it_lets_ordinary_unicode_through(alice_client):
    response = _post_json(alice_client, "/api/projects", {"name": "Émoji 😀 project", "description": "ok"})
    assert response.status_code in (200, 201)


@pytest.mark.django_db
def test_an_integer_path_id_beyond_bigint_is_404_not_500(admin_user, client_for):
    client = client_for(admin_user)
    for path in ("/api/v1/admin/sys/roles/99999999999999999999", "/api/v1/admin/sys/roles/9223372036854775808",
                 "/api/v1/admin/sys/depts/9223372036854775807"):
        response = client.delete(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "NOT_FOUND"


def test_every_integer_path_parameter_is_bounded():
    from django.urls import URLPattern, URLResolver, get_resolver
    from django.urls.converters import IntConverter

    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), getattr(entry.pattern, "converters", {})

    unbounded = [route for route, converters in walk(get_resolver().url_patterns)
                 if any(type(conv) is IntConverter for conv in converters.values())]
    assert unbounded == [], f"use <bigint:...> (apps.core.limits) instead of <int:...> in {unbounded}"


def test_serializer_integers_are_bounded_by_default():
    field = serializers.IntegerField()
    with pytest.raises(serializers.ValidationError):
        field.run_validation(BIGINT_MAX + 1)
    narrower = serializers.IntegerField(max_value=10)
    with pytest.raises(serializers.ValidationError):
        narrower.run_validation(11)


def test_module_level_serializers_got_the_bound():
    from apps.accounts.api.console.serializers import UserInputSerializer

    child = UserInputSerializer().fields["role_ids"].child
    assert child.max_value == BIGINT_MAX
