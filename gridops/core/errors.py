"""Domain errors: what went wrong, in a sentence a person can act on, and its kind.

Application code raises these (or gridops.geo.errors.GeoError); it never builds an
HTTP response and knows no status code. Each error's `slug` names its kind; the
one table that turns a kind into an HTTP status and a problem-details answer is
gridops.web.problems, and the CLI prints the same message as one sentence.
"""

from __future__ import annotations

from typing import Any


class GridopsError(Exception):
    """An error with a message a person can act on; `slug` is its kind (a problem type)."""

    slug = "invalid-parameter"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(GridopsError):
    """A setting in the environment that cannot be used."""

    slug = "internal-error"


class InvalidParameter(GridopsError):
    """Bad input: `field` names the parameter, so a client can point at it."""

    def __init__(self, field: str, message: str, **details: Any) -> None:
        super().__init__(message, field=field, **details)


class NotFound(GridopsError):
    slug = "not-found"


class Conflict(GridopsError):
    slug = "conflict"


class TooFar(GridopsError):
    """A check-in or a visit recorded too far from where it happened (`distance_m` says how far)."""

    slug = "too-far"


class TooLarge(GridopsError):
    """A body, a file or a photo over its limit."""

    slug = "payload-too-large"


class DatabaseUnavailable(GridopsError):
    """The database or its spatial extension is missing: one sentence and the fix."""

    slug = "database-unavailable"


class Busy(GridopsError):
    """The server holds as many of something as it will (open live streams): come back later."""

    slug = "server-busy"

    def __init__(self, message: str, retry_after: int = 10, **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class SchemaOutdated(GridopsError):
    slug = "schema-outdated"
