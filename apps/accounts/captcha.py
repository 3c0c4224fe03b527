"""Image captchas for the console login: the code lives only in the cache, and only once.

The cache is Redis, shared by every process, so a captcha drawn by one daphne
process can be checked by another.
"""
from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from apps.core.errors import Invalid

# Letters and digits that cannot be confused with each other when drawn (no 0/O, 1/I/L).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 4


def cache_key(captcha_id: str) -> str:
    return f"captcha:{captcha_id}"


@dataclass(frozen=True)
class Captcha:
    id: str
    image_data_uri: str


def captcha_issue() -> Captcha:
    """Draw a new captcha; its code is kept server side for ``CAPTCHA_TTL_SECONDS``."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    captcha_id = secrets.token_urlsafe(16)
    from captcha.image import ImageCaptcha  # with Pillow about 9 MiB: loaded by the first captcha, not by every process

    png = ImageCaptcha(width=160, height=60).generate(code, format="png").getvalue()
    cache.set(cache_key(captcha_id), code, timeout=settings.CAPTCHA_TTL_SECONDS)
    return Captcha(id=captcha_id, image_data_uri="data:image/png;base64," + base64.b64encode(png).decode())


def captcha_verify(*, captcha_id: str, code: str) -> None:
    """Accept a captcha once; any answer, right or wrong, uses it up so it cannot be guessed at."""
    key = cache_key(captcha_id)
    expected = cache.get(key)
    # delete() reports whether this caller removed the key: of two concurrent
    # requests with the same captcha only one gets True.
    if expected is None or not cache.delete(key):
        raise Invalid("The captcha has expired; request a new one.", code="captcha_expired",
                      field_errors={"captcha_id": ["Unknown or expired captcha."]})
    if not secrets.compare_digest(expected.encode(), code.strip().upper().encode()):
        raise Invalid("The captcha code is wrong.", code="captcha_invalid",
                      field_errors={"captcha_code": ["Wrong code."]})
