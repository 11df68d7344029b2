"""The command centre's maps under a growing history, against a plain Folium heat map, in one run.

    .venv/bin/python bench/maps.py [--sizes 10000 100000 1000000] [--pg postgresql+psycopg://postgres@127.0.0.1/postgres]

On PostGIS (the system of record): a fresh database with the demo city, then
incidents added in steps up to each size — a year of reports drawn over the
buildings (weighted by households, with the demo's hot spots), placed in their
grids and H3 cells by the service's own geocoder, written with COPY. At each
size, with `gridops serve --workers 2` running:

- **ours**: GET /maps/risk for the last 8 weeks and for the whole year — the
  server's time to answer (median of 3, after 3 warm-up requests) and the page's
  size — and in headless Chromium the time until the page has loaded and drawn
  (after a warm-up visit);
- **peer**: the same window as a plain `folium.plugins.HeatMap` of the raw
  points (read from the same database, drawn, rendered to HTML) — time and size;
- at the largest size, the time from POSTing a report to its marker on an open
  live map (/map), five times.

The issue's targets: with 1,000,000 incidents the risk page under 3 MB and ready
in under 2 s. Writes bench/out/maps.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
CITY = OUT / "demo-city"
GRIDOPS = str(Path(sys.executable).with_name("gridops"))
UNTIL = datetime(2026, 11, 16, tzinfo=UTC)
YEAR = timedelta(days=364)
CITY_TZ = ZoneInfo("Asia/Shanghai")  # the demo city's (and the service's default) time zone


def log(msg: str) -> None:
    print(msg, flush=True)


def gridops(url: str, *args: str) -> str:
    done = subprocess.run([GRIDOPS, *args], env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"gridops {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare(url: str) -> str:
    if not (CITY / "city.json").exists():
        gridops(url, "demo-city", "--seed", "7", "--out", str(CITY))
    gridops(url, "db", "upgrade")
    gridops(url, "load", str(CITY))
    return gridops(url, "users", "add", "bench-cc", "--role", "command_centre").split()[-1]


def add_incidents(url: str, n: int, seed: int) -> float:
    """n more incidents over the year, written with COPY; seconds taken."""
    import psycopg
    import shapely

    from gridops.geo.hexes import cells_of

    from gridops.web.app import create_app

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    buildings = json.loads((CITY / "buildings.geojson").read_text(encoding="utf-8"))["features"]
    centres = shapely.get_coordinates(shapely.centroid(shapely.from_geojson([json.dumps(f["geometry"]) for f in buildings])))
    weight = np.array([max(1, f["properties"].get("households") or 0) for f in buildings], dtype=float)
    pick = rng.choice(len(centres), size=n, p=weight / weight.sum())
    lon = centres[pick, 0] + rng.normal(0, 0.00015, n)
    lat = centres[pick, 1] + rng.normal(0, 0.00015, n)
    hot = rng.random(n) < 0.05  # a hot spot that grows over the year: an old lane
    lon[hot] = 104.0935 + rng.normal(0, 0.0008, hot.sum())
    lat[hot] = 30.6195 + rng.normal(0, 0.0008, hot.sum())
    age = rng.random(n) ** np.where(hot, 0.4, 1.0)  # hot reports skew towards the end of the year
    reported = [UNTIL - YEAR * (1 - a) for a in age]
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(OUT / "maps-instance")})
    geocoder = app.extensions["gridops.geocoder"]
    with app.extensions["gridops.db"].session() as session:
        version = geocoder.versions(None, session)[geocoder.primary_layer]
        cats = [(c, u) for c, u in session.execute(__import__("sqlalchemy").text("SELECT code, urgency FROM category ORDER BY code"))]
    placed = version.index.locate(lon, lat)
    grid_col = placed.levels.index("grid")
    micro_col = placed.levels.index("micro_grid")
    cells = cells_of(lon, lat)
    cat_idx = rng.integers(0, len(cats), n)
    ebike = [c for c, _ in cats].index("hazard.ebike_charging")
    cat_idx[hot] = ebike
    closed = rng.random(n) < 0.9
    app.extensions["gridops.db"].dispose()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy("COPY incident (category_code, status, urgency, channel, location, location_status, boundary_version_id, "
                      "grid_id, micro_grid_id, reported_at, reported_day, due_at, closed_at, updated_at, tier, lock_version, h3_cell) "
                      "FROM STDIN") as copy:
            for k in range(n):
                g = placed.areas[k, grid_col]
                if g < 0:
                    continue
                m = placed.areas[k, micro_col]
                code, urgency = cats[cat_idx[k]]
                t = reported[k]
                copy.write_row((code, "closed" if closed[k] else "reported", urgency, "app",
                                f"SRID=4326;POINT({float(lon[k])!r} {float(lat[k])!r})", "inside", version.info.id, version.ids[g],
                                version.ids[m] if m >= 0 else None, t, t.astimezone(CITY_TZ).date(), t + timedelta(days=3),
                                t + timedelta(hours=20) if closed[k] else None, t, "grid", 1, int(cells[k])))
        conn.commit()
        cur.execute("ANALYZE incident")
    return time.perf_counter() - t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str):
    port = free_port()
    log_file = (OUT / "maps-server.log").open("w")
    proc = subprocess.Popen([GRIDOPS, "serve", "--port", str(port), "--workers", "2"], stdout=log_file, stderr=subprocess.STDOUT,
                            env={**os.environ, "DATABASE_URL": url, "GRIDOPS_SWEEP_INTERVAL_SECONDS": "0"})
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start")


def fetch(base: str, path: str, token: str) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=300) as res:
        body = res.read()
        status = res.status
    return time.perf_counter() - t0, len(body), status


def _signed_in(p, base: str, token: str, login_path: str):
    """Debian's Chromium (nothing downloaded), signed in through the login page."""
    b = p.chromium.launch(executable_path=shutil.which("chromium"),
                          args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
    page = b.new_page(viewport={"width": 1400, "height": 900})
    page.goto(base + login_path)
    page.fill("#token", token)
    page.click("button[type=submit]")
    return b, page


def in_browser(base: str, token: str, path: str) -> float:
    """Seconds from navigation to the page loaded with its map drawn, signed in, after a warm-up visit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b, page = _signed_in(p, base, token, "/login")
        page.goto(base + path, wait_until="load")  # warm-up
        t0 = time.perf_counter()
        page.goto(base + path, wait_until="load")
        try:
            page.wait_for_selector(".leaflet-overlay-pane canvas", state="attached")
        except Exception:
            (OUT / "maps-page-debug.html").write_text(page.content(), encoding="utf-8")
            raise
        took = time.perf_counter() - t0
        b.close()
    return took


def peer_heatmap(url: str, since: datetime) -> tuple[float, int]:
    """A plain folium.plugins.HeatMap of the raw points of the window: read, draw, render."""
    import folium
    import psycopg
    from folium.plugins import HeatMap

    t0 = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        rows = conn.execute("SELECT ST_Y(location), ST_X(location) FROM incident WHERE reported_at >= %s AND reported_at < %s",
                            (since, UNTIL)).fetchall()
    m = folium.Map(location=[30.62, 104.1], zoom_start=14)
    HeatMap(rows).add_to(m)
    html = m.get_root().render()
    return time.perf_counter() - t0, len(html.encode())


def live_latency(base: str, token: str, resident: str, repeats: int = 5) -> list[float]:
    """Seconds from POSTing a report to its marker on an open live map."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        b, page = _signed_in(p, base, token, "/login?next=/map")
        page.wait_for_function("document.body.dataset.loaded === '1'", timeout=120_000)
        for k in range(repeats):
            body = json.dumps({"category": "care.elderly", "lon": 104.1003 + 0.0003 * k, "lat": 30.6203,
                               "description": f"bench {k}"}).encode()
            req = urllib.request.Request(base + "/api/v1/incidents", data=body, method="POST",
                                         headers={"Authorization": f"Bearer {resident}", "Content-Type": "application/json"})
            t0 = time.perf_counter()
            with urllib.request.urlopen(req) as res:
                iid = json.loads(res.read())["id"]
            page.wait_for_function(f"window.gridopsLiveState.markers.has({iid})", timeout=30_000)
            out.append(time.perf_counter() - t0)
        b.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--pg", default=os.environ.get("GRIDOPS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(args.pg), isolation_level="AUTOCOMMIT")
    name = f"gridops_bench_maps_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    results = []
    try:
        log(f"preparing {url}")
        token = prepare(url)
        resident = gridops(url, "users", "add", "bench-resident", "--role", "resident").split()[-1]
        have = 0
        for size in sorted(args.sizes):
            took = add_incidents(url, size - have, seed=size)
            have = size
            log(f"\n== {size:,} incidents (+ the demo's own; added in {took:.1f} s)")
            proc, base = start_server(url)
            try:
                row = {"incidents": size}
                for label, since in (("8 weeks", UNTIL - timedelta(weeks=8)), ("the year", UNTIL - YEAR)):
                    path = f"/maps/risk?since={since.date().isoformat()}&until={UNTIL.date().isoformat()}"
                    for _ in range(3):  # warm-up, in both workers: the geocoder, the household cells, the plans
                        fetch(base, path, token)
                    runs = [fetch(base, path, token) for _ in range(3)]
                    server_s = statistics.median(r[0] for r in runs)
                    size_b, status = runs[0][1], runs[0][2]
                    browser_s = in_browser(base, token, path)
                    peer_s, peer_b = peer_heatmap(url, since)
                    row[label] = {"server_s": round(server_s, 3), "page_mb": round(size_b / 1e6, 3), "browser_s": round(browser_s, 3),
                                  "status": status, "peer_heatmap_s": round(peer_s, 3), "peer_heatmap_mb": round(peer_b / 1e6, 3)}
                    log(f"   risk page, {label}: server {server_s:.2f} s, {size_b / 1e6:.2f} MB, ready in the browser {browser_s:.2f} s"
                        f" | plain HeatMap of the raw points: {peer_s:.2f} s, {peer_b / 1e6:.2f} MB"
                        f" ({peer_s / server_s:.1f}x our time, {peer_b / max(size_b, 1):.1f}x our size)")
                if size == max(args.sizes):
                    lat = live_latency(base, token, resident)
                    row["live_map_s"] = {"median": round(statistics.median(lat), 3), "max": round(max(lat), 3),
                                         "all": [round(x, 3) for x in lat]}
                    log(f"   a posted report on an open live map: median {statistics.median(lat):.2f} s, max {max(lat):.2f} s"
                        " (target < 2 s)")
                results.append(row)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    (OUT / "maps.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    log(f"\nwritten {OUT / 'maps.json'}")


if __name__ == "__main__":
    main()
