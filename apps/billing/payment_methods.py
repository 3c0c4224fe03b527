"""The payment-method catalog (shipped as data in data/payment_methods.json) and region detection."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.core.errors import Invalid, NotFound

CATALOG_PATH = Path(__file__).parent / "data" / "payment_methods.json"
COUNTRY = re.compile(r"^[A-Za-z]{2}$")
#: ``en-US`` or ``pt_BR``: the region part of a language tag.
LANGUAGE_REGION = re.compile(r"^[A-Za-z]{2,3}[-_]([A-Za-z]{2})$")


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    return json.loads(CATALOG_PATH.read_text())


def _method(code: str) -> dict[str, Any]:
    return {"id": code, **catalog()["methods"][code]}


def regions() -> list[dict[str, Any]]:
    return [
        {"id": code, "name": region["name"], "currency": region["currency"], "countries": region["countries"],
         "methods_count": len(region["methods"])}
        for code, region in catalog()["regions"].items()
    ]


def all_methods() -> list[dict[str, Any]]:
    return [_method(code) for code in catalog()["methods"]]


def presets() -> list[dict[str, Any]]:
    return [{"id": code, **preset} for code, preset in catalog()["presets"].items()]


def _region_of(country: str) -> tuple[str, dict[str, Any]] | None:
    return next(((code, region) for code, region in catalog()["regions"].items() if country in region["countries"]),
                None)


def country_code(value: str) -> str:
    if not COUNTRY.match(value or ""):
        raise Invalid("A country code is two letters (ISO 3166-1 alpha-2).",
                      field_errors={"country_code": ["Two letters, e.g. DE."]})
    return value.upper()


def for_country(*, country: str) -> dict[str, Any]:
    """The methods a customer in ``country`` can use: the region's, with the country's own first."""
    country = country_code(country)
    found = _region_of(country)
    if found is None:
        raise NotFound(f"No payment methods are listed for {country}.")
    region_code, region = found
    local = catalog()["country_methods"].get(country, [])
    currency = catalog()["country_currencies"].get(country, region["currency"])
    ordered = [*local, *(code for code in region["methods"] if not _local_only(code))]
    return {"country_code": country, "region": region_code, "region_name": region["name"], "currency": currency,
            "methods": [_method(code) for code in ordered]}


def _local_only(code: str) -> bool:
    """A method that only some countries of a region have (named in ``country_methods``)."""
    return any(code in codes for codes in catalog()["country_methods"].values())


def validate(*, method: str, country: str, currency: str = "", recurring: bool = False) -> dict[str, Any]:
    """Whether ``method`` can pay in ``country`` (and ``currency``; for a subscription when ``recurring``)."""
    if method not in catalog()["methods"]:
        raise Invalid("Unknown payment method.", field_errors={"method": ["Not in the catalog."]})
    offer = for_country(country=country)
    info = catalog()["methods"][method]
    currency = (currency or offer["currency"]).upper()
    reasons = []
    if method not in {entry["id"] for entry in offer["methods"]}:
        reasons.append(f"{info['name']} is not available in {offer['country_code']}.")
    if "*" not in info["currencies"] and currency not in info["currencies"]:
        reasons.append(f"{info['name']} does not take {currency}.")
    if recurring and not info["recurring"]:
        reasons.append(f"{info['name']} cannot be charged again for a subscription.")
    return {"valid": not reasons, "method": method, "country_code": offer["country_code"], "currency": currency,
            "errors": reasons}


def detect(*, headers: Mapping[str, str]) -> dict[str, Any]:
    """The caller's country: the trusted proxy's header (BILLING_COUNTRY_HEADER) if set, else Accept-Language."""
    country, source = "", "default"
    header = settings.BILLING_COUNTRY_HEADER
    if header and COUNTRY.match(headers.get(header, "").strip()):
        country, source = headers[header].strip().upper(), "header"
    else:
        for part in headers.get("Accept-Language", "").split(","):
            match = LANGUAGE_REGION.match(part.split(";")[0].strip())
            if match and _region_of(match.group(1).upper()):
                country, source = match.group(1).upper(), "accept-language"
                break
    if not country or _region_of(country) is None:
        return {"detected": False, "source": source, "country_code": None, "region": "north_america",
                "methods": [_method(code) for code in catalog()["presets"]["global"]["methods"]]}
    return {"detected": True, "source": source, **for_country(country=country)}
