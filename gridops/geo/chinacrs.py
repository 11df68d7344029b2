"""China's map datums: GCJ-02 (the law's obfuscated datum, used by AMap and Tencent tiles) and BD-09 (Baidu's,
a further twist of GCJ-02), to and from WGS-84.

gridops stores WGS-84. A deployment whose intranet tiles are drawn in GCJ-02 or BD-09 would show every grid and
point some hundreds of metres off its street; the pages shift overlays to the tiles' datum instead (the same
formulas in /static/basemap.js). The forward formulas are the published ones; the way back has no closed form,
so it is solved by fixed-point iteration to well under a centimetre. Outside China the datums equal WGS-84.
"""

from __future__ import annotations

import math
from collections.abc import Callable

_A = 6378245.0  # Krasovsky 1940, the ellipsoid GCJ-02 is built on
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
DATUMS = ("WGS84", "GCJ02", "BD09")


def outside_china(lon: float, lat: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
            + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
            + (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
            + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
            + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if outside_china(lon, lat):
        return lon, lat
    dlon, dlat = _offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def _invert(forward: Callable[[float, float], tuple[float, float]], lon: float, lat: float) -> tuple[float, float]:
    """The WGS-84 point `forward` takes to (lon, lat): each step moves the guess by what it still misses."""
    glon, glat = lon, lat
    for _ in range(30):
        flon, flat = forward(glon, glat)
        dlon, dlat = flon - lon, flat - lat
        glon, glat = glon - dlon, glat - dlat
        if abs(dlon) < 1e-10 and abs(dlat) < 1e-10:
            break
    return glon, glat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    return _invert(wgs84_to_gcj02, lon, lat)


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    # the published bd09_to_gcj02 is itself an approximation (~10 cm off): solve the whole way back instead
    return _invert(wgs84_to_bd09, lon, lat)


def to_datum(datum: str, lon: float, lat: float) -> tuple[float, float]:
    """A stored (WGS-84) point as the tiles of `datum` draw it."""
    if datum == "GCJ02":
        return wgs84_to_gcj02(lon, lat)
    if datum == "BD09":
        return wgs84_to_bd09(lon, lat)
    return lon, lat


def from_datum(datum: str, lon: float, lat: float) -> tuple[float, float]:
    """A point read off tiles of `datum` (a click) as WGS-84."""
    if datum == "GCJ02":
        return gcj02_to_wgs84(lon, lat)
    if datum == "BD09":
        return bd09_to_wgs84(lon, lat)
    return lon, lat
