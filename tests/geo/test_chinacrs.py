"""China's datums against the published reference values (wandergis/coordtransform's examples), and the way
back to WGS-84 to under a centimetre, so a click on GCJ-02 tiles lands where it was made."""

from __future__ import annotations

import math

import pytest

from gridops.geo.chinacrs import bd09_to_gcj02, from_datum, gcj02_to_bd09, gcj02_to_wgs84, to_datum, wgs84_to_bd09, wgs84_to_gcj02


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians(a[1]))
    return math.hypot(dx, (a[1] - b[1]) * 110_540)


def test_the_forward_formulas_give_the_published_values():
    assert wgs84_to_gcj02(116.404, 39.915) == pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-9)
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-9)
    assert bd09_to_gcj02(116.404, 39.915) == pytest.approx((116.39762729119315, 39.90865673957631), abs=1e-9)


def test_gcj02_is_hundreds_of_metres_off_in_chengdu_and_nothing_outside_china():
    chengdu = (104.0878, 30.6179)
    assert 300 < metres(chengdu, wgs84_to_gcj02(*chengdu)) < 700
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)


@pytest.mark.parametrize("datum", ["GCJ02", "BD09", "WGS84"])
@pytest.mark.parametrize("point", [(104.0878, 30.6179), (116.404, 39.915), (121.4737, 31.2304), (113.2644, 23.1291)])
def test_the_way_back_lands_within_a_centimetre(datum, point):
    assert metres(point, from_datum(datum, *to_datum(datum, *point))) < 0.01


def test_bd09_is_gcj02_twisted_further():
    p = (104.0878, 30.6179)
    assert wgs84_to_bd09(*p) == gcj02_to_bd09(*wgs84_to_gcj02(*p))
    assert metres(p, gcj02_to_wgs84(*wgs84_to_gcj02(*p))) < 0.01
