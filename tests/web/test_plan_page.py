"""The planner's page in headless Chromium, in Chinese: generate a draft, merge and split grids, see the checks by
grid name, publish through the dialog that asks for each grid left without a worker; the publish API's refusals."""

from __future__ import annotations

from shapely.geometry import shape

from tests.conftest import TEST_GRID
from tests.web.browser import ON_ONE_BACKEND, browser, live_server, watch

COMMUNITY = TEST_GRID[:12]


@ON_ONE_BACKEND
def test_a_planner_generates_edits_and_publishes_on_the_page(city, artifacts_dir, backend):
    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=base)
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
        assert page.locator("#checks li").count() == 0 and "全部通过" in page.locator("#checks-count").inner_text()
        assert page.evaluate("window.gridopsPlanState.buildings.size") > 100
        page.screenshot(path=str(artifacts_dir / f"plan-generated-{backend.name}.png"))

        # merge two neighbours with the merge tool: the page shows the grid over its bounds and the impact
        fc = city.client.get(f"/api/v1/plans/{draft_id}/geojson", headers=city.h("planner")).json
        grids = {f["properties"]["code"]: shape(f["geometry"]) for f in fc["features"] if f["properties"]["level"] == "grid"}
        a, c = next((x, y) for x in sorted(grids) for y in sorted(grids) if x < y and grids[x].touches(grids[y]))
        page.click("button[data-tool=merge]")
        page.evaluate(f"void window.gridopsPlanState.grids.get('{a}').fire('click')")
        page.evaluate(f"void window.gridopsPlanState.grids.get('{c}').fire('click')")
        page.wait_for_function("() => document.body.dataset.revision === '2' && document.body.dataset.busy === '0'", timeout=20000)
        names = city.client.get(f"/api/v1/plans/{draft_id}", headers=city.h("planner")).json["names"]
        over = page.locator("#checks li[data-kind=households_over]").inner_text()
        assert names[a] in over and "超出" in over and a not in over, over  # by name, in Chinese, no code
        assert "个撤销" in page.locator("#impact").inner_text()
        assert not page.evaluate(f"window.gridopsPlanState.grids.has('{c}')")

        # split it again: every check passes
        page.click("button[data-tool=split]")
        page.evaluate(f"void window.gridopsPlanState.grids.get('{a}').fire('click')")
        page.wait_for_function("() => document.body.dataset.revision === '3' && document.body.dataset.busy === '0'", timeout=20000)
        assert page.locator("#checks li").count() == 0, page.locator("#checks").inner_text()
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
        page.evaluate(f"void window.gridopsPlanState.buildings.get('{building}').fire('click')")
        assert "已选 1 栋" in page.locator("#tool-help").inner_text()
        page.evaluate(f"void window.gridopsPlanState.grids.get('{to}').fire('click')")
        page.wait_for_function("() => document.body.dataset.revision === '4' && document.body.dataset.busy === '0'", timeout=20000)
        after = {g["code"]: g["households"] for g in city.client.get(f"/api/v1/plans/{draft_id}", headers=city.h("planner")).json["grids"]}
        assert after[to] > before[to] and after[home] < before[home]

        # redraw by hand: pick the grid, click the corners of its new boundary around another grid's middle, apply
        other = next(code for code in sorted(grids) if code not in (to, home))
        middle = grids[other].buffer(-0.0002)
        ring = list(middle.minimum_rotated_rectangle.exterior.coords)[:4] if not middle.is_empty else []
        assert ring
        page.click("button[data-tool=redraw]")
        page.evaluate(f"void window.gridopsPlanState.grids.get('{to}').fire('click')")
        for x, y in ring:
            page.evaluate(f"void window.gridopsPlanState.map.fire('click', {{latlng: L.latLng({y}, {x})}})")
        page.click("#tool-apply")
        page.wait_for_function("() => document.body.dataset.revision === '5' "
                               "|| document.getElementById('status').className.includes('error')", timeout=20000)
        assert page.evaluate("document.body.dataset.revision") == "5", page.locator("#status").inner_text()
        page.screenshot(path=str(artifacts_dir / f"plan-redrawn-{backend.name}.png"))
        # the redraw left a grid in pieces and under its bounds: the page says so
        checks = page.locator("#checks").inner_text()
        assert page.locator("#checks li[data-kind=not_contiguous]").count() and "不相连" in checks, checks
        assert page.locator("#checks li[data-kind=households_under]").count() and "300–500 户" in checks, checks

        # publish it: one dialog shows the findings to acknowledge and each grid nobody would answer for, by name
        page.fill("#effective", "2026-11-24T00:00")
        page.click("#do-publish")
        dialog = page.locator("#publish-dialog")
        dialog.wait_for(state="visible")
        assert "2026-11-24 00:00" in page.locator("#publish-when").inner_text()  # the city's time, as typed
        assert page.locator("#publish-findings").is_visible() and page.locator("#publish-confirm").is_disabled()
        page.check("#publish-ack")
        rows = page.locator("#publish-uncovered tbody tr")
        for k in range(rows.count()):
            rows.nth(k).locator("input[type=checkbox]").check()
        page.screenshot(path=str(artifacts_dir / f"plan-publish-dialog-{backend.name}.png"))
        page.click("#publish-confirm")
        page.wait_for_function("() => document.getElementById('status').textContent.includes('已发布')", timeout=20000)
        done = city.client.get(f"/api/v1/plans/{draft_id}", headers=city.h("planner")).json
        assert done["status"] == "published"
        assert "2026-11-24 00:00" in page.locator("#status").inner_text()  # in force from the city's midnight
        assert page.locator("#do-publish").is_disabled()
        assert seen.outside() == [], seen.outside()
        assert seen.errors == [], seen.errors
        context.close()


def test_the_page_is_for_planners_only(city):
    res = city.client.get("/plan", headers=city.h("grid_worker"))
    assert res.status_code == 403
    assert city.client.get("/plan").status_code == 302  # to the sign-in page
    assert city.client.get("/plan", headers=city.h("planner")).status_code == 200


def _screen_point(page, lon: float, lat: float) -> tuple[float, float]:
    """Where a place is on the screen (for the mouse)."""
    x, y = page.evaluate(f"(() => {{ const p = window.gridopsPlanState.map.latLngToContainerPoint([{lat}, {lon}]);"
                         " return [p.x, p.y]; })()")
    box = page.locator("#map").bounding_box()
    return box["x"] + x, box["y"] + y


@ON_ONE_BACKEND
def test_a_planner_splits_by_mouse_and_publishes_naming_a_worker(city, artifacts_dir, backend):
    """The journey with the mouse alone, in Chinese: a building's popup; a split by clicking a building dot, which
    goes to the grid beneath; the publish dialog names the uncovered grid and the households that move by name; a
    worker picked there answers for the new grid."""
    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=base)
        page = context.new_page()
        seen = watch(page, base)
        page.goto(f"/plan?community={COMMUNITY}")
        page.fill("#token", city.tokens["planner"])
        page.click("button[type=submit]")
        page.wait_for_url("**/plan*")
        page.wait_for_function("() => document.body.dataset.loaded === '1'")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.locator("#gridops-bell").count() == 1 and page.locator("nav.lang a[hreflang=en]").count() == 1
        assert page.locator("#map.gridops-city-map").count() == 1  # the city's own base map under the grids

        page.click("#do-copy")
        page.wait_for_function("() => document.body.dataset.draft && document.body.dataset.busy === '0'", timeout=20000)
        draft_id = int(page.evaluate("document.body.dataset.draft"))
        draft = city.client.get(f"/api/v1/plans/{draft_id}", headers=city.h("planner")).json
        names = draft["names"]
        target = max(draft["grids"], key=lambda g: g["households"])["code"]
        labels = page.locator(".grid-label").all_inner_texts()
        assert any(names[target] in t for t in labels) and not any(target[-3:] + " ·" in t for t in labels), labels

        # the building dot most apart from the others in the grid to split, the map zoomed to that grid
        page.evaluate(f"void window.gridopsPlanState.map.fitBounds(window.gridopsPlanState.grids.get('{target}').getBounds(), "
                      "{animate: false})")
        page.wait_for_timeout(400)
        fc = city.client.get(f"/api/v1/plans/{draft_id}/geojson?which=buildings", headers=city.h("planner")).json
        inside = [f for f in fc["features"] if f["properties"]["grid"] == target]
        pts = {f["properties"]["code"]: _screen_point(page, *f["geometry"]["coordinates"]) for f in inside}

        def room(code):
            x, y = pts[code]
            return min(((x - u) ** 2 + (y - v) ** 2) ** 0.5 for c, (u, v) in pts.items() if c != code)
        dot = max(pts, key=room)
        x, y = pts[dot]
        assert page.evaluate(f"document.elementFromPoint({x}, {y}).classList.contains('plan-building')")

        # no tool: a click on a building shows its popup (name, households, grid by name)
        page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        text = popup.inner_text()
        props = next(f["properties"] for f in inside if f["properties"]["code"] == dot)
        assert f"{props['households']} 户" in text and f"所属网格：{names[target]}" in text, text
        assert (props["name"] or props["address"] or dot) in text
        page.wait_for_timeout(300)  # the popup's fade-in
        page.screenshot(path=str(artifacts_dir / f"plan-building-popup-{backend.name}.png"))

        # the split tool: the same click goes to the grid under the dot, no popup
        page.click("button[data-tool=split]")
        page.wait_for_selector(".leaflet-popup", state="detached")  # choosing a tool closes it (after its fade)
        page.mouse.click(x, y)
        page.wait_for_timeout(300)
        assert page.locator(".leaflet-popup").count() == 0  # the click did not open the building's popup
        page.wait_for_function("() => document.body.dataset.revision === '2' && document.body.dataset.busy === '0'", timeout=20000)
        assert page.locator(".leaflet-popup").count() == 0
        split = city.client.get(f"/api/v1/plans/{draft_id}", headers=city.h("planner")).json
        uncovered = split["impact"]["grids_without_worker"]
        assert len(uncovered) == 1 and uncovered[0] not in {g["code"] for g in draft["grids"]}, uncovered
        new_name = split["names"][uncovered[0]]
        assert new_name.endswith("网格") and new_name != uncovered[0]
        moves = split["impact"]["moves"]
        assert moves and all(m["from"] == target and m["to"] == uncovered[0] for m in moves), moves
        page.screenshot(path=str(artifacts_dir / f"plan-split-{backend.name}.png"))

        # publish: the dialog names the uncovered grid and the households that move, by name
        page.fill("#effective", "2026-11-24T00:00")
        page.click("#do-publish")
        page.locator("#publish-dialog").wait_for(state="visible")
        row = page.locator("#publish-uncovered tbody tr")
        assert row.count() == 1 and new_name in row.inner_text() and uncovered[0] not in row.inner_text()
        moved = page.locator("#publish-moves").inner_text()
        households = sum(m["households"] for m in moves)
        assert f"{names[target]} → {new_name}" in moved and f"{households} 户" in moved and target not in moved, moved
        assert page.locator("#publish-confirm").is_disabled()  # nobody chosen yet
        worker = city.workers["grid_worker"]
        option = row.locator(f"select option[value='{worker}']")
        assert option.count() == 1 and worker not in option.inner_text()  # the worker by name, not 工号
        row.locator("select").select_option(worker)
        # the split left both halves under their bounds: those findings are acknowledged before publishing
        assert split["checks"] and page.locator("#publish-findings-list li").count() == len(split["checks"])
        assert page.locator("#publish-confirm").is_disabled()
        page.check("#publish-ack")
        assert page.locator("#publish-confirm").is_enabled()
        page.screenshot(path=str(artifacts_dir / f"plan-publish-worker-{backend.name}.png"))
        page.click("#publish-confirm")
        page.wait_for_function("() => document.getElementById('status').textContent.includes('已发布')", timeout=20000)
        assert not page.locator("#publish-dialog").is_visible()
        done = city.client.get(f"/api/v1/plans/{draft_id}", headers=city.h("planner")).json
        assert done["status"] == "published"
        person = city.client.get(f"/api/v1/people/{worker}", headers=city.h("admin")).json
        assert (uncovered[0], "primary") in [(a["area"], a["duty"]) for a in person["assignments"]]
        assert "2026-11-24 00:00" in page.locator("#publish-done").inner_text()
        page.screenshot(path=str(artifacts_dir / f"plan-published-{backend.name}.png"))

        # English by choice, on the same draft
        page.click("nav.lang a[hreflang=en]")
        page.wait_for_function("() => document.body.dataset.loaded === '1' && document.body.dataset.busy === '0'")
        assert page.locator("html").get_attribute("lang") == "en" and page.locator("#side h1").inner_text() == "Grid planning"
        assert f"draft={draft_id}" in page.url and "Published as version" in page.locator("#status").inner_text()
        page.screenshot(path=str(artifacts_dir / f"plan-english-{backend.name}.png"))
        assert seen.outside() == [], seen.outside()
        assert seen.errors == [], seen.errors
        context.close()


def _split_copy(city) -> tuple[dict, str]:
    draft = city.client.post("/api/v1/plans", json={"community": COMMUNITY, "method": "copy"}, headers=city.h("planner")).json
    grid = max(draft["grids"], key=lambda g: g["households"])["code"]
    split = city.client.post(f"/api/v1/plans/{draft['id']}/edits", json={"op": "split", "grid": grid}, headers=city.h("planner"))
    assert split.status_code == 200, split.json
    return split.json, split.json["impact"]["grids_without_worker"][0]


def test_publishing_a_grid_nobody_answers_for_is_refused_409_in_the_readers_language(city):
    draft, new = _split_copy(city)
    path = f"/api/v1/plans/{draft['id']}/publish"
    body = {"accept_warnings": True}
    zh = city.client.post(path, json=body, headers=city.h("planner"))
    assert zh.status_code == 409 and zh.json["type"] == "/problems/grids-uncovered"
    assert zh.headers["Content-Type"].startswith("application/problem+json")
    assert zh.json["title"] == "网格无人负责" and draft["names"][new] in zh.json["detail"] and "未发布" in zh.json["detail"], zh.json
    assert zh.json["report"]["uncovered"] == [{"grid": new, "name": draft["names"][new],
                                               "households": next(g["households"] for g in draft["grids"] if g["code"] == new)}]
    en = city.client.post(path, json=body, headers={**city.h("planner"), "Accept-Language": "en"})
    assert en.status_code == 409 and en.json["title"] == "Grids left uncovered" and "nobody answering" in en.json["detail"]
    assert city.client.get(f"/api/v1/plans/{draft['id']}", headers=city.h("planner")).json["status"] == "draft"


def test_publishing_with_an_unknown_worker_or_grid_is_refused_422(city):
    draft, new = _split_copy(city)
    path = f"/api/v1/plans/{draft['id']}/publish"
    nobody = city.client.post(path, json={"accept_warnings": True, "workers": {new: "W9999"}}, headers=city.h("planner"))
    assert nobody.status_code == 422 and nobody.json["type"] == "/problems/staffing-refused", nobody.json
    assert nobody.json["field"] == "workers" and nobody.json["value"] == "W9999"
    assert "W9999" in nobody.json["detail"] and draft["names"][new] in nobody.json["detail"] and "在岗" in nobody.json["detail"]
    stray = city.client.post(path, json={"accept_warnings": True, "accept_uncovered": ["510199999999999"]},
                             headers={**city.h("planner"), "Accept-Language": "en"})
    assert stray.status_code == 422 and stray.json["field"] == "accept_uncovered"
    assert stray.json["detail"] == "510199999999999 is not a grid of this plan."
    worker = city.workers["grid_worker"]
    done = city.client.post(path, json={"accept_warnings": True, "workers": {new: worker}}, headers=city.h("planner"))
    assert done.status_code == 200 and done.json["published"]["workers_named"] == {new: worker}, done.json
