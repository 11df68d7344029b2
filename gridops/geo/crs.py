"""Coordinate reference systems: the storage SRID, local metric projections and
the Chinese map offsets (GCJ-02, BD-09).

Geometries are stored in EPSG:4326 (lon, lat). Anything measured in metres
(areas, distances, buffers) is computed in a local transverse Mercator centred on
the data, where scale error over a city is far below a millimetre per metre.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from numpy.typing import ArrayLike
from shapely.geometry.base import BaseGeometry

from gridops.geo.errors import CoordinateError, UnknownCRS

__all__ = [
    "STORAGE_SRID",
    "CGCS2000_SRID",
    "SUPPORTED_INPUT_CRS",
    "LocalProjection",
    "local_projection",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "in_china",
    "crs_name",
    "to_wgs84",
]

Pair = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]
_GeoT = TypeVar("_GeoT", bound=BaseGeometry)  # a reprojected geometry keeps its type

STORAGE_SRID = 4326
CGCS2000_SRID = 4490
# Names accepted by a `crs` parameter, mapped to how they are converted.
SUPPORTED_INPUT_CRS = ("wgs84", "cgcs2000", "gcj02", "bd09")


@dataclass(frozen=True)
class LocalProjection:
    """A metric view of a small region: forward to metres, back to lon/lat."""

    lon0: float
    lat0: float

    @property
    def crs(self) -> pyproj.CRS:
        return _tmerc(round(self.lon0, 6), round(self.lat0, 6))

    def _forward(self) -> pyproj.Transformer:
        return _transformer(round(self.lon0, 6), round(self.lat0, 6), True)

    def _inverse(self) -> pyproj.Transformer:
        return _transformer(round(self.lon0, 6), round(self.lat0, 6), False)

    def to_metric(self, geom: _GeoT) -> _GeoT:
        t = self._forward()
        return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    def to_wgs84(self, geom: _GeoT) -> _GeoT:
        t = self._inverse()
        return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    def xy_to_metric(self, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> Pair:
        return self._forward().transform(lon, lat)

    def xy_to_wgs84(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Pair:
        return self._inverse().transform(x, y)

    def area_m2(self, geom: BaseGeometry) -> float:
        return float(self.to_metric(geom).area)


_GEOD = pyproj.Geod(ellps="WGS84")


def distances_m(lon: float, lat: float, lons: ArrayLike, lats: ArrayLike) -> npt.NDArray[np.float64]:
    """Metres on the WGS-84 ellipsoid from one point to many.

    For point-to-point distances this beats a local projection: it is exact at any
    range, and building a projection for every new centre costs milliseconds.
    """
    lons = np.atleast_1d(np.asarray(lons, dtype=float))
    lats = np.atleast_1d(np.asarray(lats, dtype=float))
    for x, y in ((np.float64(lon), np.float64(lat)), (lons, lats)):
        # off the globe, the geodesic is NaN (JSON cannot carry it): a caller's position is refused instead
        if not (np.all(np.abs(x) <= 180.0) and np.all(np.abs(y) <= 90.0)):
            raise CoordinateError("a position needs lon in [-180, 180] and lat in [-90, 90] (WGS-84 degrees); got %(got)s.",
                                  {"got": _off_globe(x, y)})
    if not lons.size:
        return np.empty(0, dtype=float)
    _, _, dist = _GEOD.inv(np.full(lons.shape, float(lon)), np.full(lats.shape, float(lat)), lons, lats)
    return np.asarray(dist, dtype=float)


def _off_globe(x: npt.ArrayLike, y: npt.ArrayLike) -> str:
    xs, ys = np.atleast_1d(x), np.atleast_1d(y)
    bad = ~((np.abs(xs) <= 180.0) & (np.abs(ys) <= 90.0))
    k = int(np.argmax(bad))
    return f"lon {float(xs[k])!r}, lat {float(ys[k])!r}"


def local_projection(geom_or_bounds: BaseGeometry | tuple[float, float, float, float]) -> LocalProjection:
    """The local projection centred on a geometry (or lon/lat bounds)."""
    if isinstance(geom_or_bounds, BaseGeometry):
        minx, miny, maxx, maxy = geom_or_bounds.bounds
    else:
        minx, miny, maxx, maxy = geom_or_bounds
    return LocalProjection((minx + maxx) / 2.0, (miny + maxy) / 2.0)


@lru_cache(maxsize=64)
def _tmerc(lon0: float, lat0: float) -> pyproj.CRS:
    return pyproj.CRS.from_proj4(
        f"+proj=tmerc +lat_0={lat0} +lon_0={lon0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    )


@lru_cache(maxsize=64)
def _transformer(lon0: float, lat0: float, forward: bool) -> pyproj.Transformer:
    wgs84 = pyproj.CRS.from_epsg(STORAGE_SRID)
    local = _tmerc(lon0, lat0)
    src, dst = (wgs84, local) if forward else (local, wgs84)
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


# --- GCJ-02 / BD-09 -----------------------------------------------------------
# GCJ-02 is the obfuscated datum every map published in mainland China must use
# (AMap, Tencent, WeChat); BD-09 is Baidu's further offset of it. The forward
# formulas are public; there is no closed-form inverse, so the inverses iterate
# the forward function until the round trip is below a millimetre.

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0


def in_china(lon: ArrayLike, lat: ArrayLike) -> npt.NDArray[np.bool_]:
    """The rough box inside which the GCJ-02 offset is applied (the usual convention)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj_delta(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> Pair:
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def _gcj_shift(lon: ArrayLike, lat: ArrayLike, sign: float) -> Pair:
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_delta(lon, lat)
    inside = in_china(lon, lat)
    return np.where(inside, lon + sign * dlon, lon), np.where(inside, lat + sign * dlat, lat)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """WGS-84 → GCJ-02 (identity outside China, as the published maps do)."""
    return _gcj_shift(lon, lat, 1.0)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_approx(lon: ArrayLike, lat: ArrayLike) -> Pair:
    x = np.asarray(lon, dtype=float) - 0.0065
    y = np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Callable[[ArrayLike, ArrayLike], Pair], lon: ArrayLike, lat: ArrayLike, guess: Pair, tol_deg: float = 1e-10, max_iter: int = 30
) -> Pair:
    """Solve forward(x) = target by fixed-point iteration from a close guess.

    The offsets vary slowly (their Jacobian is the identity to within 1e-4), so
    each step gains about four digits; tol 1e-10 degrees is ~0.01 mm.
    """
    tlon = np.asarray(lon, dtype=float)
    tlat = np.asarray(lat, dtype=float)
    glon, glat = guess
    for _ in range(max_iter):
        flon, flat = forward(glon, glat)
        elon = flon - tlon
        elat = flat - tlat
        glon = glon - elon
        glat = glat - elat
        if np.all(np.abs(elon) < tol_deg) and np.all(np.abs(elat) < tol_deg):
            break
    return glon, glat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """GCJ-02 → WGS-84, iterated to sub-millimetre round-trip error."""
    return _invert(wgs84_to_gcj02, lon, lat, _gcj_shift(lon, lat, -1.0))


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """BD-09 → GCJ-02, iterated on Baidu's forward formula."""
    return _invert(gcj02_to_bd09, lon, lat, _bd09_to_gcj02_approx(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """BD-09 → WGS-84, iterated end to end so the composite round trip is exact."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return _invert(wgs84_to_bd09, lon, lat, gcj02_to_wgs84(*bd09_to_gcj02(lon, lat)))


# Names a `crs` parameter may use, mapped to the four systems gridops converts.
_CRS_ALIASES = {
    "wgs84": "wgs84", "wgs-84": "wgs84", "epsg:4326": "wgs84", "4326": "wgs84", "gps": "wgs84",
    "cgcs2000": "cgcs2000", "epsg:4490": "cgcs2000", "4490": "cgcs2000",
    "gcj02": "gcj02", "gcj-02": "gcj02", "amap": "gcj02", "tencent": "gcj02", "wechat": "gcj02",
    "bd09": "bd09", "bd-09": "bd09", "baidu": "bd09",
}


def crs_name(value: str | None) -> str:
    """The canonical name of an input CRS (default WGS-84), or UnknownCRS."""
    if value is None or value == "":
        return "wgs84"
    name = _CRS_ALIASES.get(value.strip().lower())
    if name is None:
        raise UnknownCRS(
            "crs %(value)r is not one gridops converts: use wgs84 (GPS), cgcs2000 (EPSG:4490), "
            "gcj02 (AMap, Tencent, WeChat) or bd09 (Baidu).", {"value": value},
            field="crs",
            allowed=list(SUPPORTED_INPUT_CRS),
        )
    return name


@lru_cache(maxsize=1)
def _cgcs2000_transformer() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(CGCS2000_SRID, STORAGE_SRID, always_xy=True)


def to_wgs84(x: ArrayLike, y: ArrayLike, crs: str) -> Pair:
    """Coordinates in one of the supported systems → WGS-84 lon/lat."""
    name = crs_name(crs)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if name == "wgs84":
        return x, y
    if name == "cgcs2000":
        lon, lat = _cgcs2000_transformer().transform(x, y)
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if name == "gcj02":
        return gcj02_to_wgs84(x, y)
    return bd09_to_wgs84(x, y)
