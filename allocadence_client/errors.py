"""Typed failures, so callers decide by type: final (fix the request) or transient (try later)."""

from __future__ import annotations

from .assumptions import API_NOT_ENABLED_MESSAGE


class AllocadenceError(Exception):
    """Base of every failure the client raises; carries what Allocadence said, when it said anything."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        parameter: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.parameter = parameter

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.parameter:
            parts.append(f"parameter={self.parameter}")
        return " ".join(parts)


class AuthenticationError(AllocadenceError):
    """401: the key or secret is wrong; retrying cannot help."""


class ApiNotEnabledError(AllocadenceError):
    """A non-JSON error page: the account lacks API access or the base URL is wrong."""

    def __init__(self, message: str = API_NOT_ENABLED_MESSAGE, *, status: int | None = None) -> None:
        super().__init__(message, status=status, code="api_not_enabled")


class ValidationError(AllocadenceError):
    """A 4xx JSON error: the request itself is wrong and is never retried."""


class NotFoundError(ValidationError):
    """A resource looked up by id does not exist."""


class DuplicateOrderNumberError(ValidationError):
    """The orderNumber already exists; the caller should look the order up and reuse it."""


class TransientError(AllocadenceError):
    """429, 5xx, timeout, dropped connection or broken JSON that outlasted the retries.

    For a create this is raised at once: the order may or may not exist, and only a lookup by
    number can tell.
    """

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message, status=status, code="transient")
        self.attempts = attempts
