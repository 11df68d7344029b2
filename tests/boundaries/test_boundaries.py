"""Boundaries in and out: a planner's file is checked whole, published as a version, or refused with reasons."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import func, select

from gridops.geo.crs import local_projection

from gridops.core.models import Area, BoundaryVersion
from tests.conftest import make_app, sign_in


@pytest.fixture
def app(writable_demo_url, tmp_path):
    app = make_app(writable_demo_url, tmp_path)
    yield app
    app.extensions["gridops.db"].dispose()


@pytest.fixture
def http(app):
    return sign_in(app, "planner")


def export_geojson(http) -> dict:
    res = http.get("/api/v1/boundaries/export?format=geojson")
    assert res.status_code == 200
    return json.loads(res.data)


def stored(app) -> tuple[int, int]:
    with app.extensions["gridops.db"].session() as s:
        return s.scalar(select(func.count(BoundaryVersion.id))), s.scalar(select(func.count(Area.id)))


def upload(http, doc_or_bytes, name="grids.geojson", path="/api/v1/boundaries", **form):
    data = doc_or_bytes if isinstance(doc_or_bytes, bytes) else json.dumps(doc_or_bytes, ensure_ascii=False).encode()
    return http.post(path, data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data")


def grids_and_micro(doc: dict) -> dict:
    return {**doc, "features": [f for f in doc["features"] if f["properties"]["level"] in ("grid", "micro_grid")]}


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
def test_export_then_check_round_trips_in_every_format(http, fmt):
    res = http.get(f"/api/v1/boundaries/export?format={fmt}")
    assert res.status_code == 200
    name = {"geojson": "grid.geojson", "gpkg": "grid.gpkg", "shp": "grid.zip"}[fmt]
    if fmt == "shp":
        assert {Path(n).suffix for n in zipfile.ZipFile(io.BytesIO(res.data)).namelist()} >= {".shp", ".dbf", ".shx", ".prj"}
    report = upload(http, res.data, name, path="/api/v1/boundaries/check").json
    assert report["ok"] and report["errors"] == []
    assert report["areas"] == {"district": 1, "street": 2, "community": 6, "grid": 64, "micro_grid": 424}
    assert all(w["kind"] in ("households", "household_sum") for w in report["warnings"])


def test_warnings_need_consent_and_errors_are_never_accepted(app, http):
    doc = grids_and_micro(export_geojson(http))
    before = stored(app)
    refused = upload(http, doc)
    assert refused.status_code == 422 and refused.json["type"] == "/problems/boundaries-refused"
    assert refused.json["report"]["warnings"] and not refused.json["report"]["errors"]
    assert stored(app) == before
    ok = upload(http, doc, accept_warnings="true")
    assert ok.status_code == 201, ok.json
    assert ok.json["number"] == 2 and ok.json["report"]["carried_over"] == {"district": 1, "street": 2, "community": 6}
    versions = http.get("/api/v1/boundaries").json["versions"]
    assert [(v["layer"], v["number"]) for v in versions] == [("grid", 1), ("grid", 2), ("police", 1)]


def _first(doc, level):
    return next(f for f in doc["features"] if f["properties"]["level"] == level)


def _broken(http, how: str) -> dict:
    doc = grids_and_micro(export_geojson(http))
    grid = _first(doc, "grid")
    micro = next(f for f in doc["features"] if f["properties"]["parent_code"] == grid["properties"]["code"])
    g = shape(grid["geometry"])
    if how == "self_intersection":
        (x0, y0, x1, y1) = g.bounds
        grid["geometry"] = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]}
    elif how == "overlap":
        other = next(f for f in doc["features"] if f["properties"]["level"] == "grid" and shape(f["geometry"]).touches(g))
        grid["geometry"] = shapely.geometry.mapping(g.union(shape(other["geometry"]).buffer(-0.0002)))
    elif how == "gap":
        grid["geometry"] = shapely.geometry.mapping(g.difference(g.centroid.buffer(0.0003)))
    elif how == "outside_parent":
        micro["geometry"] = shapely.geometry.mapping(shape(micro["geometry"]).buffer(0.0005))
    elif how == "duplicate_code":
        doc["features"].append(json.loads(json.dumps(micro)))
    elif how == "code_hierarchy":
        micro["properties"]["code"] = "999" + micro["properties"]["code"][3:]
    elif how == "unknown_level":
        micro["properties"]["level"] = "village"
    elif how == "geometry_type":
        micro["geometry"] = {"type": "LineString", "coordinates": [[104.1, 30.6], [104.11, 30.61]]}
    return doc


@pytest.mark.parametrize(
    "how", ["self_intersection", "overlap", "gap", "outside_parent", "duplicate_code", "code_hierarchy", "unknown_level", "geometry_type"]
)
def test_bad_boundaries_are_refused_with_a_finding_a_planner_can_act_on(app, http, how):
    before = stored(app)
    res = upload(http, _broken(http, how), accept_warnings="true")
    assert res.status_code == 422
    errors = res.json["report"]["errors"]
    kinds = {e["kind"] for e in errors}
    expected = {"self_intersection": "invalid_geometry", "overlap": "overlap", "gap": "gap", "outside_parent": "outside_parent",
                "duplicate_code": "duplicate_code", "code_hierarchy": "code_hierarchy", "unknown_level": "unknown_level",
                "geometry_type": "geometry_type"}[how]
    assert expected in kinds, errors[:3]
    found = next(e for e in errors if e["kind"] == expected)
    if how in ("self_intersection", "overlap", "gap", "outside_parent"):
        assert len(found["location"]) == 2  # where to look
    if how in ("overlap", "gap", "outside_parent"):
        assert found["area_m2"] > 1
    if how == "self_intersection":
        assert found["repairable"] is True and "Self-intersection" in found["message"]
    assert stored(app) == before  # nothing stored


def test_a_file_in_another_crs_is_stored_in_wgs84(http, tmp_path, app):
    doc = grids_and_micro(export_geojson(http))
    frame = gpd.GeoDataFrame.from_features(doc["features"], crs=4326).to_crs(32648)  # UTM 48N, metres
    path = tmp_path / "utm.gpkg"
    frame.to_file(path, driver="GPKG", engine="pyogrio")
    res = upload(http, path.read_bytes(), "utm.gpkg", accept_warnings="true")
    assert res.status_code == 201, res.json
    grid = _first(doc, "grid")
    again = http.get(f"/api/v1/areas/{grid['properties']['code']}").json
    a, b = shape(grid["geometry"]), shape(again["geometry"])
    proj = local_projection(a)
    assert proj.to_metric(a).hausdorff_distance(proj.to_metric(b)) < 0.02


def test_parents_are_found_by_containment_when_the_file_leaves_them_out(http):
    doc = grids_and_micro(export_geojson(http))
    parents = {f["properties"]["code"]: f["properties"].pop("parent_code") for f in doc["features"]}
    res = upload(http, doc, accept_warnings="true")
    assert res.status_code == 201, res.json["report"]["errors"][:3]
    body = http.get("/api/v1/areas?level=micro_grid&limit=1000").json
    assert all(f["properties"]["parent_code"] == parents[f["id"]] for f in body["features"])


def test_versions_and_lookups_as_of_a_time(http):
    doc = grids_and_micro(export_geojson(http))
    grid = _first(doc, "grid")
    grid["properties"]["name"] = "改名后的网格"
    starts = datetime.now(UTC) + timedelta(days=30)
    assert upload(http, doc, accept_warnings="true", effective=starts.isoformat()).status_code == 201
    point = shape(grid["geometry"]).representative_point()
    now = http.get(f"/api/v1/locate?lon={point.x}&lat={point.y}").json
    later = http.get("/api/v1/locate", query_string={"lon": point.x, "lat": point.y, "at": (starts + timedelta(days=1)).isoformat()}).json
    assert now["boundary_version"]["number"] == 1 and now["grid"]["name"] != "改名后的网格"
    assert later["boundary_version"]["number"] == 2 and later["grid"]["name"] == "改名后的网格"
    old = http.get(f"/api/v1/areas/{grid['properties']['code']}").json
    assert old["properties"]["name"] != "改名后的网格"


def test_shapefile_parts_or_zip_and_unreadable_files(http, tmp_path):
    res = http.get("/api/v1/boundaries/export?format=shp")
    parts = zipfile.ZipFile(io.BytesIO(res.data))
    files = [(io.BytesIO(parts.read(n)), n) for n in parts.namelist()]
    multi = http.post("/api/v1/boundaries/check", data={"file": files}, content_type="multipart/form-data")
    assert multi.status_code == 200 and multi.json["ok"]
    without_prj = [(io.BytesIO(parts.read(n)), n) for n in parts.namelist() if not n.endswith(".prj")]
    res = http.post("/api/v1/boundaries/check", data={"file": without_prj}, content_type="multipart/form-data")
    assert res.status_code == 400 and res.json["field"] == "crs"
    garbage = upload(http, b"this is not geojson", "x.geojson", path="/api/v1/boundaries/check")
    assert garbage.status_code == 400 and garbage.json["field"] == "file"
    wrong = upload(http, b"a,b\n1,2\n", "x.csv", path="/api/v1/boundaries/check")
    assert wrong.status_code == 400
    nothing = http.post("/api/v1/boundaries/check", data={}, content_type="multipart/form-data")
    assert nothing.status_code == 400 and nothing.json["field"] == "file"


def test_misfit_between_the_community_grids_and_the_police_beats(http):
    body = http.get("/api/v1/layers/misfit?a=grid&b=police").json
    rows = body["areas"]
    assert len(rows) == 424 and rows[0]["level"] == "micro_grid" and rows[0]["other_level"] == "police_grid"
    for row in rows:
        assert sum(p["area_share"] for p in row["parts"]) == pytest.approx(1.0, abs=0.01)
        if row["households"]:
            assert sum(p["household_share"] for p in row["parts"]) == pytest.approx(1.0, abs=0.01)
    split = [r for r in rows if r["split_into"] > 1]
    assert 0 < len(split) < len(rows)  # the beats ignore the grids, so some are cut
    grids = http.get("/api/v1/layers/misfit?a=grid&b=police&level_a=grid").json["areas"]
    assert len(grids) == 64
    assert http.get("/api/v1/layers/misfit?a=grid").status_code == 400
    assert http.get("/api/v1/layers/misfit?a=grid&b=fire").status_code == 404


def test_boundaries_are_for_planners(app):
    anonymous, worker = app.test_client(), sign_in(app, "grid_worker", areas=["510199001002005"])
    doc = export_geojson(sign_in(app, "command_centre"))  # staff read the versions ...
    before = stored(app)
    assert upload(anonymous, doc).status_code == 401  # ... nobody publishes without signing in ...
    assert upload(worker, doc).status_code == 403  # ... nor as a grid worker
    assert upload(sign_in(app, "command_centre"), doc).status_code == 403
    assert worker.get("/api/v1/boundaries/export?format=geojson").status_code == 403
    assert stored(app) == before


def test_a_zip_bomb_is_refused_at_once_and_leaves_nothing_behind(app, http, tmp_path, english):
    """400 MB of GeoJSON in a zip of a few hundred KB: refused from the zip's directory, never unpacked."""
    import time

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("grids.geojson", "w", force_zip64=True) as member:
            chunk = b" " * (1 << 20)
            member.write(b'{"type": "FeatureCollection", "features": [')
            for _ in range(400):
                member.write(chunk)
            member.write(b"]}")
    assert len(bomb.getvalue()) < 1_000_000
    before = stored(app)
    t0 = time.perf_counter()
    res = upload(http, bomb.getvalue(), "bomb.zip")
    took = time.perf_counter() - t0
    assert res.status_code == 413 and "unpacks to 419 MB" in res.json["detail"] and took < 1.0
    assert stored(app) == before
    uploads = Path(app.config["INSTANCE_PATH"]) / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []  # the saved upload is gone
    for bad in (b"not a zip at all", b"PK\x03\x04 broken"):
        refused = upload(http, bad, "broken.zip")
        assert refused.status_code == 400 and (not uploads.exists() or list(uploads.iterdir()) == [])


def test_a_version_without_a_time_takes_effect_when_it_is_stored(app, http):
    """Not when the import began: lookups meanwhile see the old version, and then the whole new one."""
    from gridops.core import clock

    start = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    ticks = {"n": 0}

    def ticking() -> datetime:  # every reading of the clock is a second later: a slow import
        ticks["n"] += 1
        return start + timedelta(seconds=ticks["n"])

    doc = export_geojson(http)
    clock.set_source(ticking)
    try:
        res = upload(http, grids_and_micro(doc), accept_warnings="true")
    finally:
        clock.set_source(None)
    assert res.status_code == 201, res.json
    effective = datetime.fromisoformat(res.json["effective_from"])
    with app.extensions["gridops.db"].session() as s:
        version = s.scalar(select(BoundaryVersion).where(BoundaryVersion.number == res.json["number"]))
        assert version.effective_from == version.published_at == effective  # one reading, after the areas went in
        first = s.scalar(select(func.min(Area.id)).where(Area.version_id == version.id))
    assert effective > start + timedelta(seconds=2) and first is not None


def test_publishing_under_a_later_scheduled_version_needs_supersede(app, http, english):
    doc = grids_and_micro(export_geojson(http))
    later = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    scheduled = upload(http, doc, effective=later, accept_warnings="true")
    assert scheduled.status_code == 201
    number = scheduled.json["number"]
    refused = upload(http, doc, accept_warnings="true")  # "now": version `number` would undo it in a week
    assert refused.status_code == 409 and refused.json["scheduled"]["number"] == number
    assert f"version {number}" in refused.json["detail"] and "supersede" in refused.json["detail"]
    done = upload(http, doc, accept_warnings="true", supersede="true")
    assert done.status_code == 201
    versions = {v["number"]: v["status"] for v in http.get("/api/v1/boundaries").json["versions"] if v["layer"] == "grid"}
    assert versions[number] == "superseded" and versions[done.json["number"]] == "published"
    in_a_fortnight = (datetime.now(UTC) + timedelta(days=14)).isoformat()
    area = http.get("/api/v1/areas/510199001002005", query_string={"at": in_a_fortnight}).json
    assert area["properties"]["boundaryVersion"]["number"] == done.json["number"]


@pytest.mark.parametrize("name", ["..", "a\x00.geojson"])
def test_an_upload_named_like_no_file_is_refused_and_leaves_nothing(app, http, name):
    """`..` was saved as the upload folder's parent (IsADirectoryError: a 500)."""
    before = stored(app)
    for path in ("/api/v1/boundaries/check", "/api/v1/boundaries"):
        res = upload(http, b"{}", name, path=path)
        assert res.status_code == 400 and res.json["field"] == "file", res.json
    assert stored(app) == before
    uploads = Path(app.config["INSTANCE_PATH"]) / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []
