"""GET/POST /api/v1/locate against the demo city on both backends."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from gridops.geo.crs import wgs84_to_bd09, wgs84_to_gcj02


@pytest.fixture(scope="module")
def building(demo_city_dir):
    doc = json.loads((demo_city_dir / "buildings.geojson").read_text(encoding="utf-8"))
    props = next(f["properties"] for f in doc["features"] if f["properties"]["use"] == "residential" and f["properties"]["households"] > 20)
    with (demo_city_dir / "households.csv").open(encoding="utf-8") as fh:
        household = next(r for r in csv.DictReader(fh) if r["building_code"] == props["code"])
    return props, household


def test_a_point_gets_its_grid_micro_grid_and_every_ancestor(client, building):
    b, _ = building
    res = client.get(f"/api/v1/locate?lon={b['entrance_lon']}&lat={b['entrance_lat']}")
    assert res.status_code == 200, res.json
    body = res.json
    assert body["status"] == "inside" and body["distance_m"] == 0
    grid, micro = body["grid"]["code"], body["micro_grid"]["code"]
    assert micro.startswith(grid) and len(grid) == 15 and len(micro) == 18
    areas = body["layers"]["grid"]["areas"]
    assert [areas[lv]["code"] for lv in ("district", "street", "community")] == [grid[:6], grid[:9], grid[:12]]
    assert body["boundary_version"]["number"] == 1
    assert set(body["layers"]) == {"grid", "police"}  # every layer answers
    assert body["layers"]["police"]["areas"]["police_grid"]["code"].startswith("510199P")


@pytest.mark.parametrize("crs", ["wgs84", "cgcs2000", "gcj02", "bd09"])
def test_the_four_coordinate_systems_reach_the_same_micro_grid_and_keep_the_original(client, building, crs):
    b, _ = building
    lon, lat = b["entrance_lon"], b["entrance_lat"]
    x, y = {"wgs84": (lon, lat), "cgcs2000": (lon, lat), "gcj02": wgs84_to_gcj02(lon, lat), "bd09": wgs84_to_bd09(lon, lat)}[crs]
    body = client.get("/api/v1/locate", query_string={"lon": float(x), "lat": float(y), "crs": crs}).json
    truth = client.get("/api/v1/locate", query_string={"lon": lon, "lat": lat}).json
    assert body["micro_grid"] == truth["micro_grid"]
    assert body["original"] == {"x": float(x), "y": float(y), "crs": crs}
    assert abs(body["location"]["lon"] - lon) < 1e-7 and abs(body["location"]["lat"] - lat) < 1e-7


def test_door_codes_and_addresses(client, building):
    b, household = building
    by_building = client.get(f"/api/v1/locate?building={b['code']}").json
    by_household = client.get(f"/api/v1/locate?household={household['code']}").json
    by_address = client.get("/api/v1/locate", query_string={"address": b["address"]}).json
    assert by_building["micro_grid"] == by_household["micro_grid"] == by_address["micro_grid"]
    assert by_household["household"]["code"] == household["code"]
    assert by_address["building"]["code"] == b["code"]
    # the same door written the way people write it: full-width digits, spaces, unit and room
    written = b["address"].replace("栋", "号楼").translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    door = client.get("/api/v1/locate", query_string={"address": f" {written} {household['unit']}单元{household['room']}"}).json
    assert door["building"]["code"] == b["code"] and door["household"]["code"] == household["code"]


def test_an_ambiguous_address_returns_the_candidates_not_a_guess(client, building):
    b, _ = building
    res = client.get("/api/v1/locate", query_string={"address": b["compound"]})  # a compound has many buildings
    assert res.status_code == 422 and res.json["type"] == "/problems/ambiguous-address"
    assert len(res.json["candidates"]) > 1 and all("code" in c for c in res.json["candidates"])
    missing = client.get("/api/v1/locate", query_string={"address": "不存在路999号"})
    assert missing.status_code == 404 and missing.json["field"] == "address"


def test_outside_snapped_swapped_and_malformed(client, building, english):
    b, _ = building
    far = client.get("/api/v1/locate?lon=104.3&lat=30.62")
    assert far.status_code == 422 and far.json["type"] == "/problems/outside-service-area"
    assert 15_000 < far.json["distance_m"] < 25_000 and "km from the nearest grid" in far.json["detail"]
    swapped = client.get(f"/api/v1/locate?lon={b['entrance_lat']}&lat={b['entrance_lon']}")
    assert swapped.status_code == 422 and swapped.json["type"] == "/problems/swapped-coordinates"
    assert "swapped" in swapped.json["detail"]
    for query, field in (("lon=abc&lat=30", "lon"), ("lon=104.1", "lat"), ("lon=200&lat=30", "lon"), ("lon=104&lat=30&crs=utm", "crs"),
                         ("", "location")):
        res = client.get(f"/api/v1/locate?{query}")
        assert res.status_code == 400 and res.json["field"] == field, (query, res.json)


def test_a_point_just_outside_the_district_snaps(client):
    body = client.get("/api/v1/areas?level=district").json
    minx, miny, maxx, maxy = body["bbox"]
    res = client.get("/api/v1/locate", query_string={"lon": maxx + 0.0002, "lat": (miny + maxy) / 2})
    assert res.status_code == 200 and res.json["status"] == "snapped"
    assert 10 < res.json["distance_m"] < 30


def test_as_of_a_time_before_any_boundaries(client, building):
    b, _ = building
    res = client.get(f"/api/v1/locate?lon={b['entrance_lon']}&lat={b['entrance_lat']}&at=2020-01-01T00:00:00Z")
    assert res.status_code == 404 and res.json["type"] == "/problems/no-boundaries"


def test_batch_csv_streams_rows_back_with_errors_per_row(client, building, admin_client):
    b, _ = building
    lon, lat = b["entrance_lon"], b["entrance_lat"]
    gx, gy = wgs84_to_gcj02(lon, lat)
    body = f"id,lon,lat,crs,note\na,{lon},{lat},,first\nb,{float(gx)},{float(gy)},gcj02,\nc,abc,30,,\nd,{lat},{lon},,\ne,104.3,30.62,,\n"
    res = admin_client.post("/api/v1/locate", data=body, content_type="text/csv")
    assert res.status_code == 200 and res.mimetype == "text/csv" and res.is_streamed
    rows = list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))
    assert [r["status"] for r in rows] == ["inside", "inside", "invalid", "invalid", "outside"]
    assert rows[0]["micro_grid"] == rows[1]["micro_grid"] != ""
    assert rows[0]["note"] == "first" and rows[0]["police.police_grid"].startswith("510199P")
    assert "swapped" in rows[3]["error"] and float(rows[4]["distance_m"]) > 15_000


def test_batch_geojson_in_and_out(client, building, admin_client):
    b, _ = building
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "x1", "properties": {},
         "geometry": {"type": "Point", "coordinates": [b["entrance_lon"], b["entrance_lat"]]}},
        {"type": "Feature", "properties": {"id": "x2"}, "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
    ]}
    res = admin_client.post("/api/v1/locate", json=doc)
    assert res.status_code == 200 and res.mimetype == "application/geo+json"
    out = json.loads(res.get_data(as_text=True))
    assert [f["id"] for f in out["features"]] == ["x1", "x2"]
    assert out["features"][0]["properties"]["status"] == "inside"
    assert out["features"][1]["properties"]["status"] == "invalid" and out["features"][1]["geometry"] is None


def test_batch_limits_and_wrong_bodies(demo_url, tmp_path, english):
    from tests.conftest import make_app, sign_in

    app = make_app(demo_url, tmp_path, BATCH_MAX_POINTS=3)
    client = sign_in(app)
    too_many = "lon,lat\n" + "104.1,30.62\n" * 4
    res = client.post("/api/v1/locate", data=too_many, content_type="text/csv")
    assert res.status_code == 400 and "at most 3" in res.json["detail"]
    assert client.post("/api/v1/locate", data="lon;lat\n1;2\n", content_type="text/csv").status_code == 400
    assert client.post("/api/v1/locate", data="{not json", content_type="application/json").status_code == 400
    assert client.post("/api/v1/locate", data="x", content_type="application/xml").status_code == 415
    big = sign_in(make_app(demo_url, tmp_path, MAX_CONTENT_LENGTH=1000))
    assert big.post("/api/v1/locate", data="lon,lat\n" + "104.1,30.62\n" * 200, content_type="text/csv").status_code == 413
    app.extensions["gridops.db"].dispose()


def test_a_hundred_thousand_points_in_one_request(client, admin_client):
    rng = np.random.default_rng(5)
    lons, lats = rng.uniform(104.08, 104.12, 100_000), rng.uniform(30.61, 30.64, 100_000)
    body = "lon,lat\n" + "\n".join(f"{x:.7f},{y:.7f}" for x, y in zip(lons, lats, strict=True))
    res = admin_client.post("/api/v1/locate", data=body, content_type="text/csv")
    assert res.status_code == 200
    lines = res.get_data(as_text=True).strip().split("\n")
    assert len(lines) == 100_001


def test_a_door_code_is_located_while_the_registry_refreshes(demo_url, tmp_path, building):
    """The registry re-reads the versions on this request (refresh 0 s): the door code's lookup must not hand it
    a session that is already closed (it answered 500, ResourceClosedError)."""
    from tests.conftest import make_app

    app = make_app(demo_url, tmp_path, GEOCODER_REFRESH_SECONDS=0.0)
    try:
        client = app.test_client()
        b, household = building
        for _ in range(2):
            res = client.get(f"/api/v1/locate?household={household['code']}")
            assert res.status_code == 200, res.json
            assert res.json["building"]["code"] == b["code"]
        res = client.get(f"/api/v1/locate?building={b['code']}")
        assert res.status_code == 200, res.json
    finally:
        app.extensions["gridops.db"].dispose()


def test_batch_csv_line_ends_and_encodings_as_spreadsheets_write_them(admin_client, building, english):
    """A CR alone ends a line (old Excel for Mac); a body that is not UTF-8 (a GBK export) or a line the csv
    module cannot read is a 400 that says so, never a 500 nor a silent replacement character."""
    b, _ = building
    lon, lat = b["entrance_lon"], b["entrance_lat"]
    for body in (f"id,lon,lat\ra,{lon},{lat}\rb,{lon},{lat}\r", f'id,lon,lat\n"a\rb",{lon},{lat}\r\n'):
        res = admin_client.post("/api/v1/locate", data=body.encode(), content_type="text/csv")
        assert res.status_code == 200, res.get_data(as_text=True)
        rows = list(csv.DictReader(io.StringIO(res.get_data(as_text=True), newline="")))
        assert rows and all(r["status"] == "inside" for r in rows)
    assert rows[0]["id"] == "a\rb"  # a CR inside a cell is quoted on the way out (gridops.core.spreadsheet.Export)
    gbk = admin_client.post("/api/v1/locate", data=f"lon,lat,名称\n{lon},{lat},网格\n".encode("gbk"), content_type="text/csv")
    assert gbk.status_code == 400 and gbk.json["field"] == "body" and "UTF-8" in gbk.json["detail"]
    huge = admin_client.post("/api/v1/locate", data=f"lon,lat,id\n{lon},{lat},{'x' * 200_000}\n", content_type="text/csv")
    assert huge.status_code == 400 and "line 1" in huge.json["detail"]


def test_a_json_body_nested_100000_deep_is_a_400(admin_client, english):
    deep = admin_client.post("/api/v1/locate", data=b"[" * 100_000 + b"]" * 100_000, content_type="application/geo+json")
    assert deep.status_code == 400 and deep.mimetype == "application/problem+json" and "nested" in deep.json["detail"]
    strings = {"type": "FeatureCollection", "features": [], "note": "[" * 5000}  # brackets in a string are text
    assert admin_client.post("/api/v1/locate", json=strings).status_code == 200


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00+14:00", "0001-01-01T00:00:00"])
def test_a_time_that_overflows_in_utc_is_a_400(client, at, english):
    res = client.get("/api/v1/locate", query_string={"lon": 104.1003, "lat": 30.6203, "at": at})
    assert res.status_code == 400 and res.json["field"] == "at" and "between 1900 and 2999" in res.json["detail"]
