"""Errors that services raise; the API edge turns each into its API's error shape."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors
        if code:
            self.code = code


class Invalid(ServiceError):
    status = 400
    code = "invalid"


class Unauthorized(ServiceError):
    status = 401
    code = "not_authenticated"


class PaymentRequired(ServiceError):
    """Out of credits: the run (or step) is refused before any model is called."""

    status = 402
    code = "insufficient_credits"


class Forbidden(ServiceError):
    status = 403
    code = "permission_denied"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"


class FailedDependency(ServiceError):
    """Something the user configured themselves failed (their own model provider's URL or key):
    theirs to fix, so a 4xx, not a 502 (which says our upstream failed)."""

    status = 424
    code = "failed_dependency"


class BadGateway(ServiceError):
    """Something we depend on upstream (a model, an identity provider) failed or did not answer."""

    status = 502
    code = "bad_gateway"


class ServiceUnavailable(ServiceError):
    """A service of ours (mail, Redis) is down; the same request may work later."""

    status = 503
    code = "service_unavailable"


class TooManyRequests(ServiceError):
    status = 429
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
