"""Domain errors raised by geo/: plain exceptions, no HTTP in them.

service/errors.py maps them to problem-details responses.
"""

from __future__ import annotations


class GeoError(ValueError):
    """A geometry or coordinate problem the caller can act on."""

    slug = "invalid-geometry"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class CoordinateError(GeoError):
    """Coordinates that cannot be a place: out of range, not numbers, swapped."""

    slug = "invalid-coordinates"


class UnknownCRS(GeoError):
    slug = "unknown-crs"
