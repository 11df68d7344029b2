"""Where is it, and whose ground is it: a location to its grid, micro-grid and every
area above them, in every layer, as of a time."""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from gridops.geo.crs import crs_name, to_wgs84
from gridops.geo.geocode import LayerPlacement
from gridops.geo.index import OUTSIDE, SNAPPED, STATUS

from gridops.boundaries import addresses
from gridops.boundaries.registry import LoadedVersion, Registry
from gridops.core.errors import GridopsError, InvalidParameter
from gridops.core.words import Say


class OutsideServiceArea(GridopsError):
    slug = "outside-service-area"


class SwappedCoordinates(GridopsError):
    slug = "swapped-coordinates"


class NoBoundaries(GridopsError):
    slug = "no-boundaries"


@dataclass(frozen=True)
class LocationQuery:
    """One way of naming a place: coordinates, a door code, a building code or an address."""

    x: float | None = None
    y: float | None = None
    crs: str | None = None
    building: str | None = None
    household: str | None = None
    address: str | None = None
    at: datetime | None = None


def check_coordinates(x: float, y: float, names: tuple[str, str] = ("lon", "lat")) -> None:
    """Numbers, finite, and on the globe; a swap that would fix the range is pointed out."""
    for value, name in ((x, names[0]), (y, names[1])):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidParameter(name, Say("`%(name)s` must be a finite number; got %(value)r.", name=name, value=value))
    if not -180.0 <= x <= 180.0:
        raise InvalidParameter(names[0], Say("`%(names)s` %(x)s is out of range [-180, 180].", names=names[0], x=x))
    if not -90.0 <= y <= 90.0:
        raise InvalidParameter(names[1], Say("`%(names)s` %(y)s is out of range [-90, 90].", names=names[1], y=y))


class Geocoder:
    """The locate use case over a registry of boundary versions."""

    def __init__(self, registry: Registry, primary_layer: str) -> None:
        self.registry = registry
        self.primary_layer = primary_layer

    def versions(self, at: datetime | None, session: Session | None = None) -> dict[str, LoadedVersion]:
        versions = self.registry.in_force(at, session)
        if self.primary_layer not in versions:
            when = f" at {at.isoformat()}" if at else ""
            raise NoBoundaries(
                Say("no boundary version of layer %(primary_layer)r is in force%(when)s: load a city (`gridops load`) or "
                    "import boundaries (`gridops grids import`).",
                    primary_layer=self.primary_layer, when=when)
            )
        return versions

    def locate_arrays(
        self, lon: np.ndarray, lat: np.ndarray, at: datetime | None = None
    ) -> dict[str, tuple[LoadedVersion, LayerPlacement]]:
        """Every layer's placement of WGS-84 points (the batch path)."""
        return {layer: (v, v.index.locate(lon, lat)) for layer, v in self.versions(at).items()}

    def locate(self, q: LocationQuery, open_session: Callable[[], AbstractContextManager[Session]]) -> dict[str, Any]:
        """One location, answered in full; outside or swapped points are errors that say so.

        The database is opened only to resolve a code or an address: a lookup by
        coordinates is answered from memory.
        """
        return self.place(q, open_session)[0]

    def place(
        self, q: LocationQuery, open_session: Callable[[], AbstractContextManager[Session]], session: Session | None = None
    ) -> tuple[dict[str, Any], LoadedVersion]:
        """`locate`, with the primary layer's version it was placed in (whose area ids a report stores).

        `session`: the caller's, when it holds one, for the registry to re-read the versions with.
        """
        original: dict[str, Any]
        place = None
        if q.household or q.building or q.address:
            with open_session() as lookup:  # its own name: `session` is the caller's, still open below
                if q.household:
                    place = addresses.by_household_code(lookup, q.household)
                    original = {"household": q.household}
                elif q.building:
                    place = addresses.by_building_code(lookup, q.building)
                    original = {"building": q.building}
                else:
                    place = addresses.by_address(lookup, q.address or "")
                    original = {"address": q.address}
            lon, lat = place.lon, place.lat
        elif q.x is not None and q.y is not None:
            original = {"x": q.x, "y": q.y, "crs": crs_name(q.crs)}
            try:
                check_coordinates(q.x, q.y)
            except InvalidParameter:
                self._refuse_if_swapped(q, original["crs"], None)
                raise
            glon, glat = to_wgs84(q.x, q.y, original["crs"])
            lon, lat = float(glon), float(glat)
        else:
            raise InvalidParameter("location", Say("give `lon` and `lat` (with `crs`), or a `building`, `household` or `address`."))

        versions = self.versions(q.at, session)
        answers = {layer: layer_answer(v, *v.index.locate_one(lon, lat)) for layer, v in versions.items()}
        primary = answers[self.primary_layer]
        if primary["status"] == "outside":
            self._explain_outside(q, original, lon, lat, primary["distance_m"])
        body: dict[str, Any] = {
            "status": primary["status"],
            "distance_m": primary["distance_m"],
            "location": {"lon": round(lon, 7), "lat": round(lat, 7), "crs": "wgs84"},
            "original": original,
            "at": (q.at.isoformat() if q.at else None),
            "grid": primary["areas"].get("grid"),
            "micro_grid": primary["areas"].get("micro_grid"),
            "boundary_version": primary["boundary_version"],
            "layers": answers,
        }
        if place is not None:
            body["building"] = place.building
            if place.household:
                body["household"] = place.household
        return body, versions[self.primary_layer]

    def _explain_outside(self, q: LocationQuery, original: dict, lon: float, lat: float, distance: float) -> None:
        if "crs" in original:
            self._refuse_if_swapped(q, original["crs"], distance)
        far = f"{distance / 1000:,.0f} km" if distance >= 10_000 else f"{distance:,.0f} m"
        raise OutsideServiceArea(
            Say("the location (%(lon)s, %(lat)s) is %(far)s from the nearest grid, beyond the %(snap_distance_m)s m snap "
                "distance: it is outside the service area.",
                lon=format(lon, ".6f"), lat=format(lat, ".6f"), far=far, snap_distance_m=format(self.registry.snap_distance_m, "g")),
            distance_m=round(distance, 1),
        )

    def _refuse_if_swapped(self, q: LocationQuery, crs: str, distance: float | None) -> None:
        """Raise SwappedCoordinates if (lat, lon) read the other way round is in the service area."""
        if not (isinstance(q.x, (int, float)) and isinstance(q.y, (int, float))):
            return
        if not (math.isfinite(q.x) and math.isfinite(q.y) and -180 <= q.y <= 180 and -90 <= q.x <= 90):
            return
        slon, slat = to_wgs84(q.y, q.x, crs)
        _, status, _ = self.versions(q.at)[self.primary_layer].index.locate_one(float(slon), float(slat))
        if status != OUTSIDE:
            where = "is outside the service area" if distance is None else f"is {distance / 1000:,.0f} km outside the service area"
            raise SwappedCoordinates(
                Say("lon=%(x)s, lat=%(y)s %(where)s, but lon=%(y2)s, lat=%(x2)s is inside it: latitude and longitude look "
                    "swapped.",
                    x=q.x, y=q.y, where=where, y2=q.y, x2=q.x),
                swapped={"lon": q.y, "lat": q.x},
            )


def layer_answer(version: LoadedVersion, areas: list[int], status: int, distance: float) -> dict[str, Any]:
    """One layer's answer for one point: its version, status, distance and the area at every level."""
    return {
        "status": STATUS[status],
        "distance_m": round(distance, 2) if status in (SNAPPED, OUTSIDE) else 0.0,
        "boundary_version": version.info.as_json(),
        "areas": {level: version.area(a) for level, a in zip(version.index.levels, areas, strict=True) if a >= 0},
    }
