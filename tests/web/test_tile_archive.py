"""A base-map archive the service serves itself (GRIDOPS_TILES): raster tiles out of a .pmtiles or .mbtiles file,
the .pmtiles file by HTTP ranges, drawn under the maps with no request leaving the service; a file that cannot
serve stops the start with the reason."""

from __future__ import annotations

import io
import sqlite3

import pytest
from PIL import Image
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from gridops.basemap.archive import ArchiveUnusable
from gridops.basemap.settings import ARCHIVE_TILES
from tests.conftest import TEST_POINT, make_app
from tests.web.browser import COUNT_FETCHES, ON_ONE_BACKEND, browser, live_server, settled, watch
from tests.web.test_basemap import tile_of
from tests.web.test_map_pages import _sign_in

Z = 15


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(out, "PNG")
    return out.getvalue()


def _tiles() -> dict[tuple[int, int, int], bytes]:
    """The tile under the test point and its eastern neighbour, told apart by colour; and one tile farther out."""
    x, y = tile_of(*TEST_POINT, Z)
    return {(Z, x, y): _png((200, 220, 240)), (Z, x + 1, y): _png((240, 220, 200)), (Z - 1, x // 2, y // 2): _png((9, 9, 9))}


def write_pmtiles(path, tiles, tile_type=TileType.PNG) -> None:
    with open(path, "wb") as fh:
        writer = Writer(fh)
        for (z, x, y), data in sorted(tiles.items(), key=lambda t: zxy_to_tileid(*t[0])):
            writer.write_tile(zxy_to_tileid(z, x, y), data)
        lon, lat = TEST_POINT
        writer.finalize({"tile_type": tile_type, "tile_compression": Compression.NONE,
                         "min_lon_e7": int((lon - 0.05) * 1e7), "min_lat_e7": int((lat - 0.05) * 1e7),
                         "max_lon_e7": int((lon + 0.05) * 1e7), "max_lat_e7": int((lat + 0.05) * 1e7),
                         "center_zoom": Z, "center_lon_e7": int(lon * 1e7), "center_lat_e7": int(lat * 1e7)},
                        {"attribution": "测绘院影像 2026"})


def write_mbtiles(path, tiles, fmt="png") -> None:
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE metadata (name text, value text);"
                       "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);")
    conn.executemany("INSERT INTO metadata VALUES (?, ?)", [("format", fmt), ("minzoom", str(Z - 1)), ("maxzoom", str(Z)),
                                                            ("name", "city")])
    # MBTiles keeps rows in TMS order (row 0 at the south)
    conn.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", [(z, x, 2 ** z - 1 - y, d) for (z, x, y), d in tiles.items()])
    conn.commit()
    conn.close()


@pytest.fixture(params=["pmtiles", "mbtiles"])
def archive(request, tmp_path):
    path = tmp_path / f"city.{request.param}"
    (write_pmtiles if request.param == "pmtiles" else write_mbtiles)(path, _tiles())
    return path


def test_the_archives_tiles_are_served_one_by_one_and_the_maps_are_told_to_use_them(demo_url, tmp_path, archive):
    app = make_app(demo_url, tmp_path, TILES=str(archive))
    client = app.test_client()
    for (z, x, y), data in _tiles().items():
        got = client.get(f"/tiles/{z}/{x}/{y}")
        assert got.status_code == 200 and got.mimetype == "image/png" and got.data == data, (z, x, y)
    x, y = tile_of(*TEST_POINT, Z)
    assert client.get(f"/tiles/{Z}/{x}/{y + 1}").status_code == 204  # not in the archive: nothing drawn, no broken image
    tag = client.get(f"/tiles/{Z}/{x}/{y}").headers["ETag"]
    assert client.get(f"/tiles/{Z}/{x}/{y}", headers={"If-None-Match": tag}).status_code == 304
    with app.test_request_context("/"):
        from gridops.web.basemap import basemap_config
        cfg = basemap_config()
    assert cfg["tiles"] == ARCHIVE_TILES and cfg["tilesMaxNativeZoom"] == Z and cfg["crs"] == "WGS84"
    if archive.suffix == ".pmtiles":
        assert cfg["attribution"] == "测绘院影像 2026"  # the archive's own credit, unless configured otherwise
    app.extensions["gridops.db"].dispose()


def test_the_pmtiles_file_is_served_by_ranges(demo_url, tmp_path):
    path = tmp_path / "city.pmtiles"
    write_pmtiles(path, _tiles())
    app = make_app(demo_url, tmp_path, TILES=str(path))
    client = app.test_client()
    head = client.get("/tiles/archive.pmtiles", headers={"Range": "bytes=0-126"})
    assert head.status_code == 206 and len(head.data) == 127 and head.data[:7] == b"PMTiles"
    assert head.headers["Content-Range"] == f"bytes 0-126/{path.stat().st_size}"
    assert client.get("/tiles/archive.pmtiles").data == path.read_bytes()
    app.extensions["gridops.db"].dispose()


def test_with_no_archive_the_tile_paths_say_so(client):
    answer = client.get("/tiles/15/1/1")
    assert answer.status_code == 404 and "GRIDOPS_TILES" in answer.json["detail"]


@pytest.mark.parametrize("kind, why", [("missing", "no such file"), ("vector", "raster"), ("text", "not a PMTiles"),
                                       ("mbtiles-vector", "raster"), ("geojson", ".pmtiles or .mbtiles")])
def test_an_archive_that_cannot_serve_stops_the_start_saying_why(demo_url, tmp_path, kind, why):
    path = {"missing": tmp_path / "gone.pmtiles", "vector": tmp_path / "v.pmtiles", "text": tmp_path / "t.pmtiles",
            "mbtiles-vector": tmp_path / "v.mbtiles", "geojson": tmp_path / "city.geojson"}[kind]
    if kind == "vector":
        write_pmtiles(path, {(Z, 1, 1): b"\x1a\x00"}, TileType.MVT)
    elif kind == "text":
        path.write_text("not tiles at all")
    elif kind == "mbtiles-vector":
        write_mbtiles(path, {(Z, 1, 1): b"\x1a\x00"}, fmt="pbf")
    elif kind == "geojson":
        path.write_text("{}")
    with pytest.raises(ArchiveUnusable) as err:
        make_app(demo_url, tmp_path, TILES=str(path))
    assert why in str(err.value) and str(path) in str(err.value)


@ON_ONE_BACKEND
def test_the_maps_draw_the_archive_under_the_grids_with_no_request_leaving_the_service(city, tmp_path, artifacts_dir):
    path = tmp_path / "city.pmtiles"
    write_pmtiles(path, _tiles())
    city.app.config["TILES"] = str(path)
    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", base_url=base)
        context.add_init_script(COUNT_FETCHES)
        page = context.new_page()
        seen = watch(page, base)
        _sign_in(page, city, "/maps/risk")
        page.wait_for_function("() => Object.values(window).some(v => v instanceof L.Map)")
        page.evaluate(f"""() => {{ Object.values(window).find(v => v instanceof L.Map)
                          .setView([{TEST_POINT[1]}, {TEST_POINT[0]}], {Z}, {{animate: false}}); }}""")
        page.wait_for_function("() => [...document.querySelectorAll('img.leaflet-tile-loaded')]"
                               ".some(i => i.src.includes('/tiles/') && i.naturalWidth === 256)", timeout=20000)
        settled(page)
        x, y = tile_of(*TEST_POINT, Z)
        assert any(u.endswith(f"/tiles/{Z}/{x}/{y}") for u in seen.requests)
        assert "测绘院影像" in page.locator(".leaflet-control-attribution").inner_text()
        page.screenshot(path=str(artifacts_dir / "basemap-archive.png"))
        assert seen.outside() == [], seen.outside()
        assert seen.errors == [], seen.errors
        context.close()
