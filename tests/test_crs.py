import numpy as np
import pytest

from geo.crs import (
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
