"""Domain errors raised by geo/: plain exceptions, no HTTP in them.

gridops.web.problems maps them to problem-details responses.
"""

from __future__ import annotations


class GeoError(ValueError):
    """A geometry or coordinate problem the caller can act on.

    `slug` names its kind; gridops.web.problems gives each kind its HTTP status.
    """

    slug = "invalid-geometry"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class CoordinateError(GeoError):
    """Coordinates that cannot be a place: out of range, not numbers."""

    slug = "invalid-coordinates"


class UnknownCRS(GeoError):
    slug = "unknown-crs"
