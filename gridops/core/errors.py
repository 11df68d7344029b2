"""Domain errors: what went wrong, in a sentence a person can act on, and its kind.

Application code raises these (or gridops.geo.errors.GeoError); it never builds an
HTTP response and knows no status code. Each error's `slug` names its kind; the
one table that turns a kind into an HTTP status and a problem-details answer is
gridops.web.problems, and the CLI prints the same message as one sentence.
"""

from __future__ import annotations

from typing import Any, Self


class GridopsError(Exception):
    """An error with a message a person can act on; `slug` is its kind (a problem type).

    `said` is the same sentence for a person reading a page: an English template marked for the catalogues
    (`%(name)s` placeholders) and its values, which the web says in the reader's language (gridops.web.problems);
    the message stays the log's and the command line's."""

    slug = "invalid-parameter"
    said: tuple[str, dict[str, Any]] | None = None

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def saying(self, template: str, **values: Any) -> Self:
        """The error, with what a page says to a person (`template` % `values`, translated by the web)."""
        self.said = (template, values)
        return self

    @property
    def public_message(self) -> str:
        """What may be said to whoever asked over the web (the full message goes to the log and the CLI)."""
        return self.message


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


class DeviceClockAhead(GridopsError):
    """A step sent with a device time too far in the server's future: the phone's clock is wrong."""

    slug = "device-clock-ahead"


class TooLarge(GridopsError):
    """A body, a file or a photo over its limit."""

    slug = "payload-too-large"


class DatabaseUnavailable(GridopsError):
    """The database or its spatial extension is missing: one sentence and the fix.

    The message names hosts, ports, files and URLs, which are for the operator: over the web
    (an anonymous /healthz probe, the landing page) only `public` is said, the kind of failure and its fix."""

    slug = "database-unavailable"
    GENERIC = "The database cannot be reached or lacks its spatial extension: `gridops db check` on the server says why."

    def __init__(self, message: str, public: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self._public = public or self.GENERIC

    @property
    def public_message(self) -> str:
        return self._public


class Busy(GridopsError):
    """The server holds as many of something as it will (open live streams): come back later."""

    slug = "server-busy"

    def __init__(self, message: str, retry_after: int = 10, **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class SchemaOutdated(GridopsError):
    slug = "schema-outdated"
