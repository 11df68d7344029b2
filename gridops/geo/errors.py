"""Domain errors raised by geo/: plain exceptions, no HTTP in them.

gridops.web.problems maps them to problem-details responses.
"""

from __future__ import annotations

from collections.abc import Mapping


class GeoError(ValueError):
    """A geometry or coordinate problem the caller can act on.

    `slug` names its kind; gridops.web.problems gives each kind its HTTP status. The message is a template of the
    pages' catalogues (`%(name)s` filled from `params`), so the web says it in the reader's language; `str(err)` is
    it in English.
    """

    slug = "invalid-geometry"

    def __init__(self, message: str, params: Mapping[str, object] | None = None, **details: object) -> None:
        self.template, self.params = message, dict(params or {})
        super().__init__(message % self.params if self.params else message)
        self.details = details


class CoordinateError(GeoError):
    """Coordinates that cannot be a place: out of range, not numbers."""

    slug = "invalid-coordinates"


class UnknownCRS(GeoError):
    slug = "unknown-crs"
