"""/media/ is never public: a stored file goes to its owner only, as a sandboxed attachment."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

pytestmark = pytest.mark.django_db

PAGE = b"<html><script>fetch('/api/user/config').then(r => r.text()).then(alert)</script></html>"


def _upload(client, name: str = "page.html", content: bytes = PAGE) -> str:
    response = client.post("/api/oss/upload", {"file": SimpleUploadedFile(name, content, content_type="text/html"),
                                               "path": "pages"}, format="multipart")
    assert response.status_code == 200, response.content
    return urlsplit(response.json()["data"]["url"]).path


@override_settings(DEBUG=True)
def test_anonymous_and_other_users_get_nothing(alice_client, bob_client, anon):
    path = _upload(alice_client)
    assert path.startswith("/media/")
    assert anon.get(path).status_code == 401
    assert bob_client.get(path).status_code == 404


@override_settings(DEBUG=True)
def test_the_owner_gets_an_attachment_that_cannot_run_on_our_origin(alice_client):
    path = _upload(alice_client)
    response = alice_client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PAGE
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")


@pytest.mark.parametrize("path", ["/media/oss/../knowledge/x", "/media/secret_key", "/media/oss/"])
def test_paths_outside_an_owner_prefix_are_not_found(alice_client, path):
    assert alice_client.get(path).status_code == 404


def test_an_uploaded_document_is_served_to_its_owner_only(alice, alice_client, bob_client):
    from apps.knowledge.models import Document

    assert alice_client.post("/upload", {"file": SimpleUploadedFile("n.txt", b"hello")},
                             format="multipart").status_code == 202
    path = "/media/" + Document.objects.get(owner=alice).file.name
    assert alice_client.get(path).status_code == 200
    assert bob_client.get(path).status_code == 404
