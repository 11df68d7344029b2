import numpy as np
import pytest

from gridops.geo.crs import (
    LocalProjection,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)


def metres(lon1, lat1, lon2, lat2):
    dy = (np.asarray(lat2) - lat1) * 111_320.0
    dx = (np.asarray(lon2) - lon1) * 111_320.0 * np.cos(np.radians(lat1))
    return np.hypot(dx, dy)


@pytest.fixture(scope="module")
def china():
    lon, lat = np.meshgrid(np.linspace(73.5, 134.8, 60), np.linspace(18.2, 53.5, 40))
    return lon.ravel(), lat.ravel()


def test_gcj02_offset_is_hundreds_of_metres_in_china_and_none_abroad():
    lon, lat = wgs84_to_gcj02(104.0665, 30.6595)
    assert 100 < metres(104.0665, 30.6595, lon, lat) < 1000
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)


def test_gcj02_inverse_round_trips_under_a_centimetre_across_china(china):
    lon, lat = china
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres(lon, lat, *back).max() < 0.01


def test_bd09_inverse_round_trips_under_a_centimetre_across_china(china):
    lon, lat = china
    assert metres(lon, lat, *bd09_to_wgs84(*wgs84_to_bd09(lon, lat))).max() < 0.01
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert metres(g_lon, g_lat, *bd09_to_gcj02(*gcj02_to_bd09(g_lon, g_lat))).max() < 0.01


def test_local_projection_measures_in_metres():
    from shapely.geometry import box

    proj = LocalProjection(104.1, 30.62)
    square = proj.to_wgs84(box(-50, -50, 50, 50))
    assert proj.area_m2(square) == pytest.approx(10_000, rel=1e-9)


# Published vectors. eviltransform (googollee/eviltransform, its test suite):
# WGS-84 → GCJ-02 in Shanghai, Shenzhen and Beijing. coordtransform
# (wandergis/coordtransform, test/app.js): WGS-84 → GCJ-02 and GCJ-02 → BD-09
# of (116.404, 39.915).
EVILTRANSFORM_WGS_TO_GCJ = [
    # wgs lat, wgs lng, gcj lat, gcj lng
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]


@pytest.mark.parametrize(("wlat", "wlng", "glat", "glng"), EVILTRANSFORM_WGS_TO_GCJ)
def test_wgs84_to_gcj02_matches_eviltransform(wlat, wlng, glat, glng):
    lng, lat = wgs84_to_gcj02(wlng, wlat)
    assert float(lng) == pytest.approx(glng, abs=1e-9) and float(lat) == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlat", "wlng", "glat", "glng"), EVILTRANSFORM_WGS_TO_GCJ)
def test_gcj02_inverse_of_the_published_vectors_is_within_a_centimetre(wlat, wlng, glat, glng):
    lng, lat = gcj02_to_wgs84(glng, glat)
    assert metres(wlng, wlat, lng, lat) < 0.01


def test_coordtransform_vectors():
    assert [round(float(v), 9) for v in wgs84_to_gcj02(116.404, 39.915)] == [round(116.41024449916938, 9), round(39.91640428150164, 9)]
    assert [round(float(v), 9) for v in gcj02_to_bd09(116.404, 39.915)] == [round(116.41036949371029, 9), round(39.92133699351021, 9)]
    # coordtransform's inverses are one-step approximations (a few cm off);
    # ours iterate until the forward formula gives the input back
    back = gcj02_to_bd09(*bd09_to_gcj02(116.41036949371029, 39.92133699351021))
    assert metres(116.41036949371029, 39.92133699351021, *back) < 0.001
    assert metres(116.404, 39.915, *bd09_to_gcj02(116.41036949371029, 39.92133699351021)) < 0.01


def test_cgcs2000_is_wgs84_to_the_centimetre_and_crs_names_are_checked():
    from gridops.geo.crs import crs_name, to_wgs84
    from gridops.geo.errors import UnknownCRS

    lon, lat = to_wgs84(104.1, 30.62, "EPSG:4490")
    assert metres(104.1, 30.62, lon, lat) < 0.01
    assert crs_name("AMap") == "gcj02" and crs_name(None) == "wgs84" and crs_name("Baidu") == "bd09"
    with pytest.raises(UnknownCRS, match="wgs84"):
        crs_name("utm50n")


def test_distances_from_or_to_a_point_off_the_globe_are_refused():
    """pyproj's geodesic answers NaN there; a caller's position that is no place is an error it can name."""
    from gridops.geo.crs import distances_m
    from gridops.geo.errors import CoordinateError

    assert distances_m(104.1, 30.6, [104.1], [30.6])[0] == 0.0
    for args in ((104.1, 1e16, [104.1], [30.6]), (104.1, 30.6, [181.0], [30.6]), (float("nan"), 30.6, [104.1], [30.6])):
        with pytest.raises(CoordinateError, match="lon in"):
            distances_m(*args)
