"""The base map with no internet: the city's own streets and buildings served as tiles and drawn under every map,
and overlays shifted onto GCJ-02 tiles of an intranet server so a street crossing lies where the tiles draw it."""

from __future__ import annotations

import http.server
import math
import threading

from sqlalchemy import select

from gridops.geo.chinacrs import wgs84_to_gcj02

from gridops.core.models import Road
from tests.conftest import TEST_POINT
from tests.web.browser import COUNT_FETCHES, ON_ONE_BACKEND, browser, live_server, settled, watch
from tests.web.test_map_pages import _sign_in


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)


def test_a_tile_holds_the_named_streets_and_from_z15_the_buildings(client):
    x, y = tile_of(*TEST_POINT, 15)
    near = client.get(f"/api/v1/basemap/15/{x}/{y}.geojson")
    assert near.status_code == 200 and near.mimetype == "application/geo+json"
    layers = [f["properties"]["layer"] for f in near.json["features"]]
    assert layers.count("building") > 10 and layers.count("street") > 3
    assert any(f["properties"].get("name") for f in near.json["features"] if f["properties"]["layer"] == "street")
    assert "address" not in near.text and "households" not in near.text  # the ground, never who lives there
    x, y = tile_of(*TEST_POINT, 14)
    assert {f["properties"]["layer"] for f in client.get(f"/api/v1/basemap/14/{x}/{y}.geojson").json["features"]} == {"street"}
    x, y = tile_of(*TEST_POINT, 12)
    assert client.get(f"/api/v1/basemap/12/{x}/{y}.geojson").json["features"] == []  # farther out: the grids alone
    again = client.get(f"/api/v1/basemap/15/{tile_of(*TEST_POINT, 15)[0]}/{tile_of(*TEST_POINT, 15)[1]}.geojson",
                       headers={"If-None-Match": near.headers["ETag"]})
    assert again.status_code == 304


def test_a_tile_that_cannot_be_says_why(client):
    bad = client.get("/api/v1/basemap/15/99999999/1.geojson")
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    assert "2^zoom" in bad.json["detail"] or "15/99999999/1" in bad.json["detail"]


@ON_ONE_BACKEND
def test_every_map_draws_the_citys_streets_with_no_request_leaving_the_service(city, artifacts_dir):
    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai",
                                base_url=base)
        context.add_init_script(COUNT_FETCHES)
        page = context.new_page()
        seen = watch(page, base)
        _sign_in(page, city, "/maps/risk")
        page.wait_for_function("() => Object.values(window).some(v => v instanceof L.Map)")
        page.evaluate(f"""() => {{ Object.values(window).find(v => v instanceof L.Map)
                           .setView([{TEST_POINT[1]}, {TEST_POINT[0]}], 16, {{animate: false}}); }}""")
        page.wait_for_function("() => document.querySelectorAll('.gridops-street-label').length > 0", timeout=20000)
        settled(page)
        tiles = [u for u in seen.requests if "/api/v1/basemap/16/" in u]
        assert tiles and page.locator(".leaflet-gridopsBasemap-pane canvas").count() == 1
        assert page.locator(".leaflet-control-scale-line").count() == 1
        assert "ft" not in page.locator(".leaflet-control-scale").inner_text()  # metric only
        assert "Leaflet" not in page.locator(".leaflet-control-attribution").inner_text()
        labels = page.locator(".gridops-street-label").all_inner_texts()
        assert any(t.endswith(("路", "街", "巷", "大道")) for t in labels), labels[:5]
        page.screenshot(path=str(artifacts_dir / "basemap-risk-z16.png"))
        assert seen.outside() == [], seen.outside()
        assert seen.errors == [], seen.errors
        context.close()


class _BlankTiles(http.server.BaseHTTPRequestHandler):
    """An intranet tile server drawing nothing: a 1×1 PNG for every tile."""

    PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
                        "00010005fe02fea70000000049454e44ae426082")

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.PNG)))
        self.end_headers()
        self.wfile.write(self.PNG)

    def log_message(self, *args):
        pass


@ON_ONE_BACKEND
def test_on_gcj02_tiles_a_street_crossing_is_drawn_within_5_m_of_where_the_tiles_have_it(city):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BlankTiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    city.app.config.update(TILE_URL=f"http://127.0.0.1:{server.server_port}/{{z}}/{{x}}/{{y}}.png", TILE_CRS="GCJ02")
    with city.session() as s:
        crossing = s.scalar(select(Road.geom).where(Road.kind == "arterial").limit(1))
    from geoalchemy2.shape import to_shape
    lon, lat = to_shape(crossing).coords[0]  # an arterial's end: where it meets another street
    glon, glat = wgs84_to_gcj02(lon, lat)
    try:
        with live_server(city.app) as base, browser() as (p, b):
            context = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", base_url=base)
            page = context.new_page()
            seen = watch(page, base)
            _sign_in(page, city, "/maps/risk")
            page.wait_for_function("() => Object.values(window).some(v => v instanceof L.Map)")
            off = page.evaluate(f"""() => {{
                const map = Object.values(window).find(v => v instanceof L.Map), z = 18;
                // where the map draws the stored (WGS-84) crossing, and where a GCJ-02 tile has that crossing
                const drawn = map.project(L.latLng({lat}, {lon}), z);
                const onTiles = L.CRS.EPSG3857.latLngToPoint(L.latLng({glat}, {glon}), z);
                const metresPerPixel = 40075016.686 * Math.cos({lat} * Math.PI / 180) / Math.pow(2, z + 8);
                const clicked = map.unproject(onTiles, z);  // a click on the tiles' crossing reads back as WGS-84
                return {{drawn: drawn.distanceTo(onTiles) * metresPerPixel,
                         back: map.distance(clicked, L.latLng({lat}, {lon})), crs: map.options.crs.code}};
            }}""")
            assert off["crs"].endswith("GCJ02")
            assert off["drawn"] < 5.0 and off["back"] < 5.0, off
            assert any(u.startswith(f"http://127.0.0.1:{server.server_port}/") for u in seen.requests)  # the tiles came
            assert seen.errors == [], seen.errors
            context.close()
    finally:
        server.shutdown()
