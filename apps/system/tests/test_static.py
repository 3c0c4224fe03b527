"""daphne serves the admin's and Swagger UI's assets with no proxy in front."""
import pytest
from asgiref.testing import ApplicationCommunicator

from codex.asgi import application


async def _get(path: str) -> tuple[int, bytes]:
    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": [], "http_version": "1.1"}
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(timeout=10)
    body = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return start["status"], body


@pytest.mark.django_db
async def test_it_serves_the_admin_stylesheet():
    status, body = await _get("/static/admin/css/base.css")
    assert status == 200
    assert b"{" in body


@pytest.mark.django_db
async def test_a_missing_static_file_is_404():
    status, _ = await _get("/static/admin/css/nope.css")
    assert status == 404
