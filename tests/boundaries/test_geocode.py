"""The layer geocoder: every point to its leaf and every ancestor, with the tie-break per level."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from gridops.geo.geocode import LayerIndex
from gridops.geo.index import INSIDE, ON_BOUNDARY, OUTSIDE, SNAPPED, AreaIndex, RasterIndex

# Two grids side by side (x = 104.10 between them), each cut in two micro-grids;
# G1's west micro-grid has a hole, G2's east micro-grid is in two pieces.
X0, X1, X2 = 104.09, 104.10, 104.11
Y0, Y1, Y2 = 30.60, 30.605, 30.61
HOLE = box(104.0930, 30.6060, 104.0934, 30.6064)
AREAS = [
    ("C1", "community", None, box(X0, Y0, X2, Y2)),
    ("C1G1", "grid", "C1", box(X0, Y0, X1, Y2)),
    ("C1G2", "grid", "C1", box(X1, Y0, X2, Y2)),
    ("C1G1M1", "micro_grid", "C1G1", box(X0, Y0, X1, Y1).union(box(X0, Y1, X1, Y2).difference(HOLE))),
    ("C1G1M2", "micro_grid", "C1G1", HOLE),  # an island micro-grid inside the other one's hole
    ("C1G2M1", "micro_grid", "C1G2", box(X1, Y0, X2, Y1)),
    ("C1G2M2", "micro_grid", "C1G2", box(X1, Y1, X2, Y2)),
]
LEVELS = ["community", "grid", "micro_grid"]


def layer(order=None):
    rows = AREAS if order is None else [AREAS[i] for i in order]
    codes = [r[0] for r in rows]
    return LayerIndex(codes, [r[1] for r in rows], [codes.index(r[2]) if r[2] else -1 for r in rows],
                      [r[3] for r in rows], LEVELS, snap_distance_m=50)


def answer(index, lon, lat):
    placed = index.locate(np.atleast_1d(lon), np.atleast_1d(lat))
    return [
        ({lv: index.codes[placed.areas[k, c]] for c, lv in enumerate(placed.levels) if placed.areas[k, c] >= 0}, int(placed.status[k]))
        for k in range(len(placed.status))
    ]


def test_interior_points_get_the_whole_chain():
    [(areas, status)] = answer(layer(), 104.105, 30.602)
    assert areas == {"community": "C1", "grid": "C1G2", "micro_grid": "C1G2M1"} and status == INSIDE


def test_a_shared_edge_resolves_to_the_smallest_code_at_every_level_whatever_the_input_order():
    for order in (None, [6, 5, 4, 3, 2, 1, 0], [2, 0, 5, 3, 6, 1, 4]):
        index = layer(order)
        # on the grid edge x = 104.10, in the south half: G1 (west) wins over G2
        [(areas, status)] = answer(index, X1, 30.602)
        assert areas == {"community": "C1", "grid": "C1G1", "micro_grid": "C1G1M1"} and status == ON_BOUNDARY
        # on the micro-grid edge y = 30.605 inside G2: M1 wins, grid unchanged
        [(areas, status)] = answer(index, 104.105, Y1)
        assert areas["micro_grid"] == "C1G2M1" and areas["grid"] == "C1G2" and status == ON_BOUNDARY


def test_the_four_way_vertex_and_the_corner_of_the_district():
    [(areas, status)] = answer(layer(), X1, Y1)
    assert areas == {"community": "C1", "grid": "C1G1", "micro_grid": "C1G1M1"} and status == ON_BOUNDARY
    [(areas, status)] = answer(layer(), X2, Y2)
    assert areas["micro_grid"] == "C1G2M2" and status == ON_BOUNDARY


def test_holes_are_holes_and_islands_in_them_are_found():
    [(areas, _)] = answer(layer(), 104.0932, 30.6062)
    assert areas["micro_grid"] == "C1G1M2"  # inside the hole: the island, not the holed area
    [(areas, status)] = answer(layer(), 104.0930, 30.6062)  # on the hole's edge
    assert areas["micro_grid"] == "C1G1M1" and status == ON_BOUNDARY  # "C1G1M1" < "C1G1M2"


def test_points_just_outside_snap_with_their_distance_and_far_ones_are_outside():
    index = layer()
    placed = index.locate(np.array([X2 + 0.0002, X2 + 0.1]), np.array([30.602, 30.602]))
    assert list(placed.status) == [SNAPPED, OUTSIDE]
    assert 15 < placed.distance_m[0] < 25 and 9_000 < placed.distance_m[1] < 10_000
    assert index.codes[placed.areas[0, 2]] == "C1G2M1" and (placed.areas[1] == -1).all()


def test_multipolygon_leaves():
    polys = [MultiPolygon([box(0, 0, 1, 1), box(2, 0, 3, 1)]), box(1, 0, 2, 1)]
    lon = np.array([0.5, 2.5, 1.5, 1.0])
    for cls in (AreaIndex, RasterIndex):
        placed = cls(["A", "B"], [p for p in polys]).locate(lon, np.full(4, 0.5))
        assert list(placed.index) == [0, 0, 1, 0]
        assert list(placed.status) == [INSIDE, INSIDE, INSIDE, ON_BOUNDARY]


@pytest.fixture(scope="module")
def demo_micro_grids(demo_city_dir):
    import json

    from shapely.geometry import shape

    doc = json.loads((demo_city_dir / "areas.geojson").read_text(encoding="utf-8"))
    rows = [(f["properties"]["code"], shape(f["geometry"])) for f in doc["features"] if f["properties"]["level"] == "micro_grid"]
    return [c for c, _ in rows], [g for _, g in rows]


def test_the_raster_index_answers_exactly_as_the_exact_index(demo_micro_grids):
    """A million random points, every vertex and every edge midpoint of the demo city."""
    codes, polys = demo_micro_grids
    rng = np.random.default_rng(3)
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(polys, dtype=object))
    lon = rng.uniform(minx - 0.001, maxx + 0.001, 1_000_000)
    lat = rng.uniform(miny - 0.001, maxy + 0.001, 1_000_000)
    vertices = np.unique(np.concatenate([shapely.get_coordinates(p) for p in polys]), axis=0)
    mids = (vertices[:-1] + vertices[1:]) / 2.0
    lon = np.concatenate([lon, vertices[:, 0], mids[:, 0]])
    lat = np.concatenate([lat, vertices[:, 1], mids[:, 1]])
    fast = RasterIndex(codes, polys).locate(lon, lat)
    exact = AreaIndex(codes, polys).locate(lon, lat)
    assert (fast.index == exact.index).all()
    assert (fast.status == exact.status).all()
    assert np.allclose(fast.distance_m, exact.distance_m)
    assert (fast.status == ON_BOUNDARY).sum() > 1000  # the vertices were really tested


def test_overlapping_areas_tie_break_like_the_exact_index():
    """A police layer may overlap itself: the smallest code among those covering wins."""
    a, b = box(0, 0, 2, 2), box(1, 1, 3, 3)
    lon = np.array([1.5, 0.5, 2.5, 1.0, 2.0])
    lat = np.array([1.5, 0.5, 2.5, 1.5, 1.5])
    for codes in (["A", "B"], ["B", "A"]):
        fast = RasterIndex(codes, [a, b], cell_m=20_000).locate(lon, lat)
        exact = AreaIndex(codes, [a, b]).locate(lon, lat)
        assert (fast.index == exact.index).all() and (fast.status == exact.status).all()


def test_an_empty_layer_places_nothing():
    placed = RasterIndex([], []).locate(np.array([104.1]), np.array([30.6]))
    assert placed.index[0] == -1 and placed.status[0] == OUTSIDE
    assert Polygon  # imported for the fixtures above


def test_the_single_point_path_answers_as_the_batch_path(demo_micro_grids):
    codes, polys = demo_micro_grids
    index = LayerIndex(codes, ["micro_grid"] * len(codes), [-1] * len(codes), polys, ["micro_grid"])
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(polys, dtype=object))
    vertices = np.unique(np.concatenate([shapely.get_coordinates(p) for p in polys]), axis=0)[::7]
    lon = np.concatenate([rng.uniform(minx - 0.001, maxx + 0.001, 20_000), vertices[:, 0]])
    lat = np.concatenate([rng.uniform(miny - 0.001, maxy + 0.001, 20_000), vertices[:, 1]])
    batch = index.locate(lon, lat)
    for k in range(len(lon)):
        areas, status, distance = index.locate_one(float(lon[k]), float(lat[k]))
        assert areas == batch.areas[k].tolist() and status == batch.status[k]
        assert distance == pytest.approx(batch.distance_m[k])
    tree = layer()  # several levels, shared edges
    for x, y in [(X1, 30.602), (104.105, Y1), (X1, Y1), (104.0932, 30.6062), (X2 + 0.0002, 30.602)]:
        areas, status, _ = tree.locate_one(x, y)
        placed = tree.locate(np.array([x]), np.array([y]))
        assert areas == placed.areas[0].tolist() and status == placed.status[0]


@pytest.mark.parametrize(("lon", "lat", "km"), [
    (2.35, 48.85, 8_294), (151.2, -33.87, 8_684), (-122.4, 37.77, 11_028), (-75.3, -30.6, 19_970),
])
def test_far_away_points_are_outside_at_their_distance_on_the_ellipsoid(demo_micro_grids, lon, lat, km):
    """Paris, Sydney, San Francisco and the antipode: a local projection would be off by a tenth or more."""
    codes, polys = demo_micro_grids
    for cls in (RasterIndex, AreaIndex):
        placed = cls(codes, polys).locate(np.array([lon]), np.array([lat]))
        assert placed.status[0] == OUTSIDE
        assert placed.distance_m[0] / 1000 == pytest.approx(km, rel=0.002)
