"""GET /api/v1/areas: the grids as a planner's GIS or the live map reads them."""

from __future__ import annotations

from collections import defaultdict

import pytest
from shapely.geometry import shape

from gridops.geo.validate import coverage_problems


def fetch_all(client, **params):
    features, offset = [], 0
    while True:
        res = client.get("/api/v1/areas", query_string={**params, "offset": offset, "limit": 50})
        assert res.status_code == 200, res.json
        body = res.json
        features += body["features"]
        if not any(link["rel"] == "next" for link in body["links"]):
            return body, features
        offset += 50


def test_grids_come_as_a_geojson_feature_collection_with_bbox_and_paging(client):
    res = client.get("/api/v1/areas?level=grid&limit=10")
    assert res.status_code == 200
    assert res.mimetype == "application/geo+json"
    body = res.json
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == 10 and body["numberMatched"] == 64
    minx, miny, maxx, maxy = body["bbox"]
    assert 103 < minx < maxx < 105 and 30 < miny < maxy < 31
    first = body["features"][0]
    assert first["geometry"]["type"] == "MultiPolygon"
    assert set(first["properties"]) >= {"code", "name", "level", "parent_code", "households", "area_m2"}
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next")
    assert "offset=10" in nxt and "level=grid" in nxt
    assert body["boundaryVersion"]["number"] == 1


def test_pages_cover_every_grid_once(client):
    body, features = fetch_all(client, level="grid")
    codes = [f["id"] for f in features]
    assert len(codes) == len(set(codes)) == 64


def test_every_grid_holds_300_to_500_households_and_they_tile_their_community(client):
    _, grids = fetch_all(client, level="grid")
    _, communities = fetch_all(client, level="community")
    assert all(300 <= g["properties"]["households"] <= 500 for g in grids)
    by_parent = defaultdict(list)
    for g in grids:
        by_parent[g["properties"]["parent_code"]].append(g)
    assert set(by_parent) == {c["id"] for c in communities}
    for community in communities:
        kids = by_parent[community["id"]]
        problems = coverage_problems(
            [k["id"] for k in kids], [shape(k["geometry"]) for k in kids], container=shape(community["geometry"]), min_area_m2=1.0
        )
        assert problems == [], problems[:3]


def test_within_narrows_to_a_community_and_bbox_to_a_window(client):
    community = client.get("/api/v1/areas?level=community&limit=1").json["features"][0]
    inside = client.get(f"/api/v1/areas?level=grid&within={community['id']}&limit=1000").json
    assert 0 < inside["numberMatched"] < 64
    assert all(f["id"].startswith(community["id"]) for f in inside["features"])
    minx, miny, maxx, maxy = shape(inside["features"][0]["geometry"]).bounds
    window = client.get(f"/api/v1/areas?level=grid&bbox={minx},{miny},{maxx},{maxy}&limit=1000").json
    assert inside["features"][0]["id"] in {f["id"] for f in window["features"]}
    assert window["numberMatched"] < 64


def test_one_area_by_its_code(client):
    grid = client.get("/api/v1/areas?level=grid&limit=1").json["features"][0]
    res = client.get(f"/api/v1/areas/{grid['id']}")
    assert res.status_code == 200
    assert res.json["properties"]["households"] == grid["properties"]["households"]
    assert res.json["bbox"]


def test_before_the_boundaries_took_effect_there_is_nothing(client):
    body = client.get("/api/v1/areas?level=grid&at=2020-01-01T00:00:00%2B08:00").json
    assert body["numberMatched"] == 0 and body["features"] == [] and body["boundaryVersion"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("level=village", "level"),
        ("level=grid&limit=0", "limit"),
        ("level=grid&limit=5000", "limit"),
        ("level=grid&limit=ten", "limit"),
        ("level=grid&offset=-1", "offset"),
        ("bbox=104,30,103", "bbox"),
        ("bbox=200,30,201,31", "bbox"),
        ("at=last-tuesday", "at"),
        ("layer=fire_brigade", "layer"),
    ],
)
def test_bad_parameters_get_a_problem_naming_the_field(client, query, field, english):
    res = client.get(f"/api/v1/areas?{query}")
    assert res.status_code == 400
    assert res.mimetype == "application/problem+json"
    body = res.json
    assert body["status"] == 400 and body["field"] == field and field in body["detail"]
    assert body["type"] == "/problems/invalid-parameter"


def test_unknown_area_and_unknown_url_are_404_problems(client):
    for url in ("/api/v1/areas/999999", "/api/v1/nothing-here"):
        res = client.get(url)
        assert res.status_code == 404 and res.mimetype == "application/problem+json"


def test_problem_types_are_documented(client):
    body = client.get("/api/v1/areas?level=village").json
    page = client.get(body["type"])
    assert page.status_code == 200 and "参数有误" in page.get_data(as_text=True)  # its title in the reader's language
    english = client.get(body["type"] + "?lang=en")
    assert english.status_code == 200 and b"Invalid parameter" in english.data
