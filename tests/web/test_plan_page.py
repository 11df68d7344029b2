"""The planner's page in headless Chromium: generate a draft, merge and split grids, see the checks, publish."""

from __future__ import annotations

from shapely.geometry import shape

from tests.conftest import TEST_GRID
from tests.web.browser import ON_ONE_BACKEND, browser, live_server, watch

COMMUNITY = TEST_GRID[:12]


@ON_ONE_BACKEND
def test_a_planner_generates_edits_and_publishes_on_the_page(city, artifacts_dir, backend):
    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=base)
        page = context.new_page()
        seen = watch(page, base)
        page.goto(f"/plan?community={COMMUNITY}")
        page.fill("#token", city.tokens["planner"])
        page.click("button[type=submit]")
        page.wait_for_url("**/plan*")
        page.wait_for_function("() => document.body.dataset.loaded === '1'")

        page.click("#do-generate")
        page.wait_for_function("() => document.body.dataset.draft && document.body.dataset.busy === '0'", timeout=20000)
        draft_id = int(page.evaluate("document.body.dataset.draft"))
        assert page.locator("path.draft-grid").count() == page.evaluate("window.gridopsPlanState.grids.size") > 5
        assert "Polsby-Popper" in page.locator("#metrics").inner_text()
        assert "(0" in page.locator("#checks-count").inner_text()  # a generated draft passes every check
        assert page.evaluate("window.gridopsPlanState.buildings.size") > 100
        page.screenshot(path=str(artifacts_dir / f"plan-generated-{backend.name}.png"))

        # merge two neighbours with the merge tool: the page shows the grid over its bounds and the impact
        fc = city.client.get(f"/api/v1/plans/{draft_id}/geojson", headers=city.h("planner")).json
        grids = {f["properties"]["code"]: shape(f["geometry"]) for f in fc["features"] if f["properties"]["level"] == "grid"}
        a, c = next((x, y) for x in sorted(grids) for y in sorted(grids) if x < y and grids[x].touches(grids[y]))
        page.click("button[data-tool=merge]")
        page.evaluate(f"window.gridopsPlanState.grids.get('{a}').fire('click')")
        page.evaluate(f"window.gridopsPlanState.grids.get('{c}').fire('click')")
        page.wait_for_function("() => document.body.dataset.revision === '2' && document.body.dataset.busy === '0'", timeout=20000)
        assert f"grid {a} holds" in page.locator("#checks").inner_text() and "over the" in page.locator("#checks").inner_text()
        assert "retired" in page.locator("#impact").inner_text()
        assert not page.evaluate(f"window.gridopsPlanState.grids.has('{c}')")

        # split it again: every check passes
        page.click("button[data-tool=split]")
        page.evaluate(f"window.gridopsPlanState.grids.get('{a}').fire('click')")
        page.wait_for_function("() => document.body.dataset.revision === '3' && document.body.dataset.busy === '0'", timeout=20000)
        assert "(0" in page.locator("#checks-count").inner_text(), page.locator("#checks").inner_text()
        page.screenshot(path=str(artifacts_dir / f"plan-edited-{backend.name}.png"))

        # move a building to the neighbouring grid: pick it, then the grid
        b_fc = city.client.get(f"/api/v1/plans/{draft_id}/geojson?which=buildings", headers=city.h("planner")).json
        grids = {f["properties"]["code"]: shape(f["geometry"]) for f in
                 city.client.get(f"/api/v1/plans/{draft_id}/geojson", headers=city.h("planner")).json["features"]
                 if f["properties"]["level"] == "grid"}
        building, home, to = next(
            (f["properties"]["code"], f["properties"]["grid"], code) for f in b_fc["features"] if f["properties"]["households"]
            for code, g in grids.items() if code != f["properties"]["grid"] and g.distance(shape(f["geometry"])) < 0.0002)
        before = {g["code"]: g["households"] for g in city.client.get(f"/api/v1/plans/{draft_id}", headers=city.h("planner")).json["grids"]}
        page.click("button[data-tool=move]")
        page.evaluate(f"window.gridopsPlanState.buildings.get('{building}').fire('click')")
        assert "1 " in page.locator("#tool-help").inner_text()
        page.evaluate(f"window.gridopsPlanState.grids.get('{to}').fire('click')")
        page.wait_for_function("() => document.body.dataset.revision === '4' && document.body.dataset.busy === '0'", timeout=20000)
        after = {g["code"]: g["households"] for g in city.client.get(f"/api/v1/plans/{draft_id}", headers=city.h("planner")).json["grids"]}
        assert after[to] > before[to] and after[home] < before[home]

        # redraw by hand: pick the grid, click the corners of its new boundary around another grid's middle, apply
        other = next(code for code in sorted(grids) if code not in (to, home))
        middle = grids[other].buffer(-0.0002)
        ring = list(middle.minimum_rotated_rectangle.exterior.coords)[:4] if not middle.is_empty else []
        assert ring
        page.click("button[data-tool=redraw]")
        page.evaluate(f"window.gridopsPlanState.grids.get('{to}').fire('click')")
        for x, y in ring:
            page.evaluate(f"window.gridopsPlanState.map.fire('click', {{latlng: L.latLng({y}, {x})}})")
        page.click("#tool-apply")
        page.wait_for_function("() => document.body.dataset.revision === '5' "
                               "|| document.getElementById('status').className.includes('error')", timeout=20000)
        assert page.evaluate("document.body.dataset.revision") == "5", page.locator("#status").inner_text()
        page.screenshot(path=str(artifacts_dir / f"plan-redrawn-{backend.name}.png"))
        # the redraw left a grid in pieces and under its bounds: the page says so
        checks = page.locator("#checks").inner_text()
        assert "separate pieces" in checks and "under the 300-500 bounds" in checks, checks

        # publish it: the page asks once to publish, once more despite the findings, and names each grid the plan
        # would leave with nobody answering for it before accepting exactly those
        page.fill("#effective", "2026-11-24T00:00")
        asked = []
        page.on("dialog", lambda d: (asked.append(d.message), d.accept()))
        page.click("#do-publish")
        page.wait_for_function("() => document.getElementById('status').textContent.includes('Published')", timeout=20000)
        assert city.client.get(f"/api/v1/plans/{draft_id}", headers=city.h("planner")).json["status"] == "published"
        assert len(asked) == 3 and "publish anyway" in asked[1], asked
        assert "无人负责" in asked[2] and " 户）" in asked[2], asked[2]
        assert page.locator("#do-publish").is_disabled()
        assert seen.outside() == [], seen.outside()
        assert seen.errors == [], seen.errors
        context.close()


def test_the_page_is_for_planners_only(city):
    res = city.client.get("/plan", headers=city.h("grid_worker"))
    assert res.status_code == 403
    assert city.client.get("/plan").status_code == 302  # to the sign-in page
    assert city.client.get("/plan", headers=city.h("planner")).status_code == 200
