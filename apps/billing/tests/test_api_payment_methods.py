"""004's payment-method catalog (shipped as data) and region detection."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_regions_all_and_presets_come_from_the_catalog(alice_client):
    regions = alice_client.get("/api/billing/payment-methods/regions").json()["regions"]
    assert {"north_america", "europe", "latin_america", "asia_pacific"} <= {region["id"] for region in regions}
    methods = {m["id"] for m in alice_client.get("/api/billing/payment-methods/all").json()["methods"]}
    assert {"card", "sepa_debit", "pix", "upi"} <= methods
    presets = alice_client.get("/api/billing/payment-methods/presets").json()["presets"]
    assert all(set(preset["methods"]) <= methods for preset in presets)


def test_a_country_gets_its_own_methods_first(alice_client):
    body = alice_client.get("/api/billing/payment-methods/region/nl").json()
    assert (body["country_code"], body["region"], body["currency"]) == ("NL", "europe", "EUR")
    ids = [m["id"] for m in body["methods"]]
    assert ids[0] == "ideal" and "card" in ids and "pix" not in ids and "bancontact" not in ids


def test_a_country_code_is_validated(alice_client):
    assert alice_client.get("/api/billing/payment-methods/region/XYZ").status_code == 400
    assert alice_client.get("/api/billing/payment-methods/region/ZZ").status_code == 404


def test_validate_checks_country_currency_and_recurrence(alice_client):
    ok = alice_client.post("/api/billing/payment-methods/validate", {"method": "pix", "country_code": "BR"}, format="json")
    assert ok.status_code == 200 and ok.json()["valid"] is True
    bad = alice_client.post("/api/billing/payment-methods/validate",
                            {"method": "pix", "country_code": "DE", "recurring": True}, format="json").json()
    assert bad["valid"] is False and len(bad["errors"]) == 3


def test_validate_rejects_bad_input(alice_client):
    post = alice_client.post
    assert post("/api/billing/payment-methods/validate", {"method": "card"}, format="json").status_code == 400
    unknown = post("/api/billing/payment-methods/validate", {"method": "gold", "country_code": "DE"}, format="json")
    assert unknown.status_code == 400 and "detail" in unknown.json()


def test_detect_reads_accept_language(alice_client):
    body = alice_client.get("/api/billing/payment-methods/detect", HTTP_ACCEPT_LANGUAGE="pt-BR,pt;q=0.9").json()
    assert (body["detected"], body["source"], body["country_code"]) == (True, "accept-language", "BR")


def test_detect_trusts_the_proxy_header_only_when_configured(alice_client, settings):
    headers = {"HTTP_CF_IPCOUNTRY": "JP", "HTTP_ACCEPT_LANGUAGE": "de-DE"}
    assert alice_client.get("/api/billing/payment-methods/detect", **headers).json()["country_code"] == "DE"
    settings.BILLING_COUNTRY_HEADER = "CF-IPCountry"
    body = alice_client.get("/api/billing/payment-methods/detect", **headers).json()
    assert (body["country_code"], body["source"]) == ("JP", "header")


def test_detect_without_a_clue_offers_the_global_methods(alice_client):
    body = alice_client.get("/api/billing/payment-methods/detect").json()
    assert body["detected"] is False and [m["id"] for m in body["methods"]][0] == "card"
