"""Domain errors raised by geo/: plain exceptions, no HTTP in them.

gridops.web.problems maps them to problem-details responses.
"""

from __future__ import annotations


class GeoError(ValueError):
    """A geometry or coordinate problem the caller can act on.

    `status` is the HTTP status the service answers with (400: the request is
    malformed; 422: well-formed, but the place cannot be served).
    """

    slug = "invalid-geometry"
    status = 422

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class CoordinateError(GeoError):
    """Coordinates that cannot be a place: out of range, not numbers."""

    slug = "invalid-coordinates"
    status = 400


class UnknownCRS(GeoError):
    slug = "unknown-crs"
    status = 400
