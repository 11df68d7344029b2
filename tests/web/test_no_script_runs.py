"""Nothing a user typed runs as code: areas published with script in their names, reports and a worker
with script in their words, then every page opened in Chromium as each role that may open it — with
every tooltip and popup opened — and not one dialog, script run or blocked inline script."""

from __future__ import annotations

import io
import json

from sqlalchemy import select, update

from gridops.access.policy import ROLE_CODES, ROUTES
from gridops.core.models import Worker
from tests.conftest import TEST_POINT, sign_in
from tests.web.browser import COUNT_FETCHES, ON_ONE_BACKEND, browser, live_server, settled, watch
from tests.web.test_route_policy import SAMPLES, USER_OF

# each one, if it ran, would set window.pwned or open a dialog
PAYLOADS = [
    '<img src=x onerror="window.pwned=1;alert(1)">',
    "</script><script>window.pwned=2;alert(2)</script>",
    '"><svg onload="window.pwned=3;alert(3)">',
    "=HYPERLINK(\"http://evil.example\",\"点这里\")",
]

# every page (the matrix's own sample of each: tests.web.test_route_policy.SAMPLES)
PAGES = {endpoint: path for endpoint, (method, path, _) in SAMPLES.items() if endpoint.startswith("pages.") and method == "GET"}

# what the page does once loaded: open every tooltip and popup of every Leaflet layer, shown or not
OPEN_EVERYTHING = """() => {
    if (!window.L) return 0;
    const maps = Object.values(window).filter(v => v instanceof L.Map);
    let opened = 0;
    for (const map of maps) {
        const groups = Object.values(window).filter(v => v instanceof L.LayerGroup);
        for (const g of groups) {
            if (!map.hasLayer(g)) g.addTo(map);
        }
        map.eachLayer(layer => {
            if (layer.getTooltip && layer.getTooltip()) {
                const children = layer.getLayers ? layer.getLayers().slice(0, 40) : [layer];
                for (const child of children) { try { layer.openTooltip(child === layer ? undefined : child); opened++; } catch (e) {} }
            }
            if (layer.getPopup && layer.getPopup()) { try { layer.openPopup(); opened++; } catch (e) {} }
        });
    }
    return opened;
}"""

WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", e => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
"""

# what a payload parsed as markup leaves in the page whether or not it ran (an inline handler, which the pages'
# own code never writes: the Content-Security-Policy would refuse it)
INLINE_HANDLERS = """() => [...document.querySelectorAll("*")]
    .filter(e => [...e.attributes].some(a => a.name.toLowerCase().startsWith("on")))
    .map(e => e.outerHTML.slice(0, 120))"""


def _poison(city) -> None:
    """Areas renamed by a planner's publish, a worker renamed, reports described with the payloads."""
    planner = sign_in(city.app, "planner")
    doc = json.loads(planner.get("/api/v1/boundaries/export?format=geojson").data)
    for k, f in enumerate(doc["features"]):
        if f["properties"]["level"] in ("grid", "micro_grid", "community"):
            f["properties"]["name"] = PAYLOADS[k % len(PAYLOADS)]
    published = planner.post("/api/v1/boundaries", data={
        "file": (io.BytesIO(json.dumps(doc, ensure_ascii=False).encode()), "grids.geojson"), "accept_warnings": "true"},
        content_type="multipart/form-data")
    assert published.status_code == 201, published.get_data(as_text=True)
    city.app.extensions["gridops.geocoder"].registry.refresh()
    with city.session() as s:
        s.execute(update(Worker).where(Worker.code == city.workers["grid_worker"]).values(name=PAYLOADS[0]))
    for k, payload in enumerate(PAYLOADS):
        made = city.client.post("/api/v1/incidents", headers=city.h("resident"), json={
            "category": ["order.noise", "environment.garbage", "hazard.ebike_charging", "livelihood.repair"][k],
            "lon": TEST_POINT[0] + 0.0003 * k, "lat": TEST_POINT[1], "description": payload, "reporter_name": payload})
        assert made.status_code == 201, made.get_data(as_text=True)


@ON_ONE_BACKEND
def test_no_page_runs_what_users_typed(city, artifacts_dir):
    _poison(city)
    with city.session() as s:
        assert s.scalar(select(Worker.name).where(Worker.code == city.workers["grid_worker"])) == PAYLOADS[0]
    ran = []
    with live_server(city.app) as base, browser() as (p, b):
        for role in ROLE_CODES:
            context = b.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN", timezone_id="Asia/Shanghai",
                                    base_url=base)
            context.add_init_script(WATCH_VIOLATIONS)
            context.add_init_script(COUNT_FETCHES)
            page = context.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d, seen_dialogs=dialogs: (seen_dialogs.append(d.message), d.dismiss()))
            seen = watch(page, base)
            page.goto("/login")
            page.fill("#token", city.tokens[USER_OF[role]])
            page.click("button[type=submit]")
            page.wait_for_load_state("load")
            for endpoint, path in PAGES.items():
                if not ROUTES[endpoint].admits(role):
                    continue
                page.goto(path)
                page.wait_for_load_state("load")
                if page.evaluate("!!window.L"):  # a map: its live data, tooltips and popups (a page without one is whole now)
                    settled(page)  # its live data drawn (the stream starts from now: it brings nothing older)
                    page.evaluate(OPEN_EVERYTHING)
                    for target in page.locator(".leaflet-interactive").all()[:15]:
                        try:
                            target.click(timeout=500, force=True)
                        except Exception:  # a shape under another: the next one
                            pass
                    settled(page)  # what the popups asked for, shown
                pwned = page.evaluate("window.pwned")
                violations = page.evaluate("window.__violations || []")
                handlers = page.evaluate(INLINE_HANDLERS)
                if pwned or dialogs or violations or handlers:
                    ran.append(f"{path} as {role}: pwned={pwned} dialogs={dialogs} blocked={violations} markup={handlers}")
                    page.screenshot(path=str(artifacts_dir / f"xss-{role}-{path.strip('/').replace('/', '-') or 'index'}.png"))
                dialogs.clear()
            scripts = [e for e in seen.errors if "Content Security Policy" in e]
            assert not scripts, (role, scripts)
            context.close()
    assert not ran, "\n".join(ran)


def test_exports_neutralise_spreadsheet_formulas(city):
    _poison(city)
    admin = sign_in(city.app, "admin")
    csv = admin.get("/api/v1/stats?level=grid&format=csv").get_data(as_text=True)
    cells = [c for line in csv.splitlines() for c in line.split(",")]
    assert any("HYPERLINK" in c for c in cells)
    assert not [c for c in cells if c.lstrip('"').startswith(("=", "+", "-", "@"))], "a cell would run as a formula"
    batch = admin.post("/api/v1/locate", data="lon,lat,id\n104.1003,30.6203,=1+1\n104.1003,30.6203,@SUM(A1)\n",
                       content_type="text/csv").get_data(as_text=True)
    assert "'=1+1" in batch and "'@SUM(A1)" in batch
