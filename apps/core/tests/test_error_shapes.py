"""The exception handler renders each API's error shape, and never lets an error escape as a raw 500."""
from __future__ import annotations

import pytest
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from apps.accounts.authentication import BearerAuthentication
from apps.core import errors
from apps.core.api.views import AdminApiView, CodexApiView, PlatformApiView, SageApiView, TaskApiView

factory = APIRequestFactory()


class _NameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=3)


def _view(base: type, behaviour: str):
    class View(base):
        authentication_classes = [BearerAuthentication]
        permission_classes = [IsAuthenticated] if behaviour == "auth" else [AllowAny]

        def post(self, request):
            if behaviour == "invalid":
                _NameSerializer(data=request.data).is_valid(raise_exception=True)
            if behaviour == "not_found":
                raise errors.NotFound("No such thing.")
            if behaviour == "conflict":
                raise errors.Conflict("Already there.")
            if behaviour == "throttled":
                raise errors.TooManyRequests("Slow down.", retry_after=7)
            if behaviour == "crash":
                raise RuntimeError("secret internals")
            if behaviour == "database_down":
                from django.db import OperationalError

                raise OperationalError("connection to server on socket failed: secret internals")
            return Response({"ok": True}, status=201)

    return View.as_view()


def _call(base: type, behaviour: str, path: str = "/x"):
    request = factory.post(path, {"name": "too long"}, format="json")
    return _view(base, behaviour)(request)


BASES = [CodexApiView, TaskApiView, SageApiView, AdminApiView, PlatformApiView]


@pytest.mark.parametrize(
    ("base", "keys"),
    [
        (CodexApiView, {"detail", "errors"}),
        (TaskApiView, {"path", "message", "statusCode", "timestamp", "validationErrors"}),
        (SageApiView, {"code", "message", "data", "timestamp"}),
        (AdminApiView, {"detail", "code", "errors"}),
        (PlatformApiView, {"detail", "errors"}),
    ],
)
def test_validation_errors_name_the_field_in_each_apis_shape(base, keys):
    response = _call(base, "invalid", path="/api/things")
    assert response.status_code == 400
    assert set(response.data) == keys
    assert "name" in str(response.data)


def test_the_task_api_lists_validation_errors_by_field():
    body = _call(TaskApiView, "invalid", path="/auth/register").data
    assert body["path"] == "/auth/register"
    assert body["statusCode"] == 400
    assert body["validationErrors"][0]["field"] == "name"


def test_the_sage_api_puts_the_status_in_code_and_the_fields_in_data():
    body = _call(SageApiView, "invalid").data
    assert body["code"] == 400
    assert "name" in body["data"]["errors"]


def test_the_admin_api_adds_an_upper_case_code():
    assert _call(AdminApiView, "conflict").data == {"detail": "Already there.", "code": "CONFLICT"}


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize(("behaviour", "status"), [("not_found", 404), ("conflict", 409), ("throttled", 429), ("crash", 500)])
def test_service_errors_keep_their_status_in_every_api(base, behaviour, status):
    response = _call(base, behaviour)
    assert response.status_code == status
    assert "secret internals" not in str(response.data)
    if base is SageApiView:
        assert response.data["code"] == status
    if behaviour == "throttled":
        assert response["Retry-After"] == "7"


@pytest.mark.parametrize("base", BASES)
def test_anonymous_is_401_not_403_in_every_api(base):
    response = _call(base, "auth")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_only_sage_wraps_a_success():
    assert _call(SageApiView, "ok").data["data"] == {"ok": True}
    assert _call(SageApiView, "ok").data["code"] == 201
    for base in (CodexApiView, TaskApiView, AdminApiView, PlatformApiView):
        assert _call(base, "ok").data == {"ok": True}


@pytest.mark.parametrize("base", BASES)
def test_an_unavailable_database_is_a_503_with_retry_after_in_every_api(base):
    response = _call(base, "database_down")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "secret internals" not in str(response.data)
    if base is SageApiView:
        assert response.data["code"] == 503
