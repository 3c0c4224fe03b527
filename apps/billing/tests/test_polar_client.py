"""Checkout and plan changes really call Polar (here a recording stand-in on 127.0.0.1 via POLAR_API_URL)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.billing import services
from apps.billing.tests.factories import PlanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def polar_api(settings):
    """A stand-in Polar API that records each request and answers 500, as an outage would."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen.append({"method": self.command, "path": self.path, "auth": self.headers.get("Authorization"),
                         "body": json.loads(self.rfile.read(length) or b"{}")})
            data = b'{"detail": "down"}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_PATCH = _record

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.POLAR_ACCESS_TOKEN = "polar_oat_test"
    settings.POLAR_API_URL = f"http://127.0.0.1:{server.server_address[1]}"
    yield seen
    server.shutdown()
    server.server_close()


def test_checkout_asks_polar_for_the_plans_product_for_this_user(alice, alice_client, polar_api):
    PlanFactory(slug="pro", polar_product_id="prod_pro")
    response = alice_client.post("/api/billing/create-checkout-session", {"plan_id": "pro"}, format="json")
    assert response.status_code == 502  # Polar failed: a clear answer, not a 500
    request = polar_api[-1]
    assert request["method"] == "POST" and "checkouts" in request["path"]
    assert request["auth"] == "Bearer polar_oat_test"
    assert request["body"]["products"] == ["prod_pro"]
    assert request["body"]["external_customer_id"] == str(alice.pk)
    assert request["body"]["metadata"]["user_id"] == str(alice.pk)


def test_a_plan_without_a_polar_product_cannot_be_bought(alice_client, polar_api):
    PlanFactory(slug="pro", polar_product_id="")
    response = alice_client.post("/api/billing/create-checkout-session", {"plan_id": "pro"}, format="json")
    assert response.status_code == 400 and not polar_api


def test_upgrading_a_polar_subscription_changes_its_product(alice, alice_client, polar_api):
    services.subscription_assign(user=alice, plan=PlanFactory(slug="basic"), external_id="sub_9")
    PlanFactory(slug="pro", polar_product_id="prod_pro")
    response = alice_client.post("/api/billing/upgrade-plan", {"plan_id": "pro"}, format="json")
    assert response.status_code == 502
    request = polar_api[-1]
    assert (request["method"], request["body"]["product_id"]) == ("PATCH", "prod_pro")
    assert "sub_9" in request["path"]
