"""The exact point → area index: shared edges, holes, points outside."""

import numpy as np
from shapely.geometry import Polygon, box

from gridops.geo.index import INSIDE, ON_BOUNDARY, OUTSIDE, SNAPPED, AreaIndex

# two grids side by side sharing the edge lon = 104.1; the right one has a hole
LEFT = box(104.09, 30.60, 104.10, 30.61)
RIGHT = Polygon(
    [(104.10, 30.60), (104.11, 30.60), (104.11, 30.61), (104.10, 30.61)],
    [[(104.1048, 30.6048), (104.1052, 30.6048), (104.1052, 30.6052), (104.1048, 30.6052)]],
)


def index():
    # codes given out of order: the tie-break must use the code, not the position
    return AreaIndex(["G002", "G001"], [RIGHT, LEFT], snap_distance_m=50)


def test_points_inside_get_their_area():
    placed = index().locate(np.array([104.095, 104.105]), np.array([30.605, 30.602]))
    assert list(placed.index) == [1, 0]
    assert list(placed.status) == [INSIDE, INSIDE]


def test_a_shared_edge_goes_to_the_smallest_code_every_time():
    lon = np.full(5, 104.10)
    lat = np.linspace(30.601, 30.609, 5)
    for _ in range(3):
        placed = index().locate(lon, lat)
        assert set(placed.index) == {1}  # G001, the smaller code
        assert set(placed.status) == {ON_BOUNDARY}


def test_holes_are_holes():
    placed = index().locate(np.array([104.105]), np.array([30.605]))
    # the middle of a 38 m hole is not inside G002: it is 19 m from the hole's edge
    assert placed.status[0] == SNAPPED
    assert 15 < placed.distance_m[0] < 25


def test_points_just_outside_snap_and_far_points_are_outside_with_their_distance():
    placed = index().locate(np.array([104.1102, 104.2]), np.array([30.605, 30.605]))
    assert placed.status[0] == SNAPPED and placed.index[0] == 0
    assert 15 < placed.distance_m[0] < 25
    assert placed.status[1] == OUTSIDE and placed.index[1] == -1
    assert 8_000 < placed.distance_m[1] < 9_000
