"""Model fields shared by the apps."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    """The key lives outside the database: FIELD_ENCRYPTION_KEY, or a file in var/ made once."""
    key = settings.FIELD_ENCRYPTION_KEY
    if not key:
        path = Path(settings.VAR_DIR) / "field_encryption_key"
        if not path.exists():
            path.write_bytes(Fernet.generate_key())
            path.chmod(0o600)
        key = path.read_text().strip()
    return Fernet(key.encode() if isinstance(key, str) else key)


class EncryptedTextField(models.TextField):
    """Text stored encrypted with Fernet; reads give the plain text back."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return _fernet().encrypt(value.encode()).decode()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value in (None, ""):
            return value
        try:
            return _fernet().decrypt(value.encode()).decode()
        except InvalidToken:
            # The key changed: the secret is unreadable, never leaked in its encrypted form.
            return ""
