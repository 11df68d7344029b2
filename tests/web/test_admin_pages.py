"""The register pages (/admin) as their users walk them: a community admin adds a worker, assigns them to a grid
from tomorrow, sets their rota, imports households and sees a bad row named, hands a leaver's work on — in
Chinese, in headless Chromium; and what each role reads there, over HTTP."""

from __future__ import annotations

import re

from sqlalchemy import select

from gridops.core.models import Household, Worker
from tests.conftest import TEST_GRID, TEST_POINT
from tests.web.browser import browser, live_server, watch

COMMUNITY = TEST_GRID[:12]
OTHER_GRID = "510199002003001"  # of another community


def _report(city, description="楼道堆放杂物"):
    res = city.client.post("/api/v1/incidents", json={"category": "dispute.neighbour", "lon": TEST_POINT[0], "lat": TEST_POINT[1],
                                                      "description": description}, headers=city.h("resident"))
    assert res.status_code == 201, res.json
    return res.json


def _building_of_grid(city) -> str:
    res = city.client.get(f"/admin/buildings?area={TEST_GRID}", headers=city.h("community_admin"))
    found = re.search(r'/admin/buildings/([^"?]+)"', res.get_data(as_text=True))
    assert found, "no building in the test grid"
    return found.group(1)


def _submit(page, form: str) -> str:
    """Submit a form of the page and wait for its answer; the status line's text."""
    page.locator(f"{form} button[type=submit]").click()
    status = page.locator(f"{form} .form-status")
    page.wait_for_function("(el) => el.classList.contains('ok') || el.classList.contains('bad')", arg=status.element_handle())
    return status.inner_text()


def test_a_community_admin_keeps_the_people_and_households_of_their_community(city, artifacts_dir, backend, tmp_path):
    leaver = city.workers["grid_worker"]
    _report(city)  # open work of the grid's worker, handed on when they leave
    building = _building_of_grid(city)
    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai",
                                base_url=base)
        page = context.new_page()
        seen = watch(page, base)
        page.on("dialog", lambda d: d.accept())
        page.goto("/admin")
        page.fill("#token", city.tokens["community_admin"])
        page.click("button[type=submit]")
        page.wait_for_url("**/admin")
        assert page.locator("h1").inner_text() == "基础数据" and page.locator("html").get_attribute("lang") == "zh-CN"

        page.goto("/admin/people")
        page.fill("#person-add [name=code]", "W9001")
        page.fill("#person-add [name=name]", "李新")
        page.fill("#person-add [name=phone]", "13800009001")
        page.locator("#person-add button[type=submit]").click()
        page.wait_for_url("**/admin/people/W9001")
        assert "李新" in page.locator("h1").inner_text()

        page.fill("#assign [name=area]", OTHER_GRID)  # another community's grid: refused, said why, in Chinese first
        said = _submit(page, "#assign")
        assert said.startswith("无权操作："), said
        page.fill("#assign [name=area]", TEST_GRID)
        page.fill("#assign [name=valid_from]", "2026-11-24")
        assert _submit(page, "#assign") == "已保存。"
        page.wait_for_load_state("load")
        page.locator("#assignments", has_text=TEST_GRID).wait_for()
        assert "2026-11-24" in page.locator("#assignments").inner_text()

        page.locator("#rota tr[data-weekday='0'] .shift-start").fill("08:30")
        page.locator("#rota tr[data-weekday='0'] .shift-end").fill("17:30")
        with page.expect_event("load"):  # a saved form reloads its page 0.9 s after saying so (admin.js): go on after that
            assert _submit(page, "#rota") == "已保存。"
        page.screenshot(path=str(artifacts_dir / f"admin-person-{backend.name}.png"), full_page=True)

        bad = tmp_path / "households.csv"
        bad.write_text(f"门牌码,楼栋,单元,楼层,室,人数\n{building}-9-0101,{building},9,1,101,2\n{building}-9-0102,NO-SUCH,9,1,102,x\n",
                       encoding="utf-8")
        page.goto("/admin/buildings")
        page.set_input_files("#households-import [name=file]", str(bad))
        said = _submit(page, "#households-import")
        assert said.startswith("文件有误：") and "第 3 行" in said, said
        page.screenshot(path=str(artifacts_dir / f"admin-households-refused-{backend.name}.png"), full_page=True)

        page.goto(f"/admin/people/{leaver}")
        page.fill("#deactivate [name=note]", "调往其他街道")
        said = _submit(page, "#deactivate")
        assert re.fullmatch(r"已保存；[1-9]\d* 件未办结事件已转交。", said), said
        page.wait_for_load_state("load")
        page.locator("h1 .badge").wait_for()
        assert page.locator("#open-tasks").inner_text() == "0"

        page.goto("/admin/audit")
        trail = page.locator("table.trail").inner_text()
        assert "W9001" in trail and leaver in trail and "离岗" in trail and "调往其他街道" in trail
        page.screenshot(path=str(artifacts_dir / f"admin-audit-{backend.name}.png"), full_page=True)
        page.goto("/admin/audit?lang=en")
        assert page.locator("h1").inner_text() == "Audit trail"
        page.goto("/admin")  # the choice is kept
        assert page.locator("h1").inner_text() == "Registers"
        unexpected = [e for e in seen.errors if not re.search(r"status of (403|422)", e)]  # the two refusals asked for above
        assert not unexpected and not seen.outside(), (unexpected, seen.outside())
        context.close()
    with city.session() as s:
        assert s.scalar(select(Worker.active).where(Worker.code == leaver)) is False
        assert s.scalar(select(Household.id).where(Household.code == f"{building}-9-0101")) is None  # nothing of the bad file
    week = city.client.get("/api/v1/people/W9001/shifts", headers=city.h("command_centre")).json
    assert [(w["weekday"], w["start"], w["end"]) for w in week["shifts"]] == [(0, "08:30", "17:30")]


def test_what_each_role_reads_and_may_change_on_the_register_pages(city):
    admin_page = city.client.get("/admin/people", headers=city.h("command_centre"))
    assert admin_page.status_code == 200 and 'id="person-add"' not in admin_page.get_data(as_text=True)  # reads, keeps nothing
    mine = city.client.get("/admin/people", headers=city.h("community_admin")).get_data(as_text=True)
    assert 'id="person-add"' in mine and city.workers["grid_worker"] in mine
    assert "510199002003" not in mine  # nobody of another community
    refused = city.client.get("/admin", headers=city.h("grid_worker"))
    assert refused.status_code == 403 and "此页面供" in refused.get_data(as_text=True)
    other = city.client.get("/admin/buildings?area=510199002", headers=city.h("community_admin")).get_data(as_text=True)
    assert "共 0 栋" in other  # another community's buildings are not theirs to list
    planner = city.client.get("/admin/calendar", headers=city.h("planner")).get_data(as_text=True)
    assert 'id="calendar-import"' not in planner and "2026 年节假日与调休" in planner
    english = city.client.get("/admin/calendar?lang=en", headers=city.h("admin")).get_data(as_text=True)
    assert "Holidays and make-up workdays, 2026" in english and 'id="calendar-import"' in english
    # every register in bulk where it is shown: one import form (admin/macros.html), export links for every reader
    for who, keeps in (("community_admin", True), ("command_centre", False)):
        people_page = city.client.get("/admin/people", headers=city.h(who)).get_data(as_text=True)
        assert 'id="people-export"' in people_page and 'id="assignments-export"' in people_page
        assert ('id="people-import"' in people_page) is keeps and ('id="assignments-import"' in people_page) is keeps
    built = city.client.get("/admin/buildings", headers=city.h("planner")).get_data(as_text=True)
    assert 'id="buildings-import"' in built and 'id="households-import"' in built and "/api/v1/buildings/export?format=xlsx" in built
    visited = city.client.get(f"/admin/registers?area={TEST_GRID}&lang=zh", headers=city.h("grid_leader"))
    page = visited.get_data(as_text=True)
    assert visited.status_code == 200 and "走访对象登记" in page and "独居老人" in page and 'id="registers-import"' in page
    worker_page = city.client.get("/admin/registers", headers=city.h("grid_worker")).get_data(as_text=True)
    assert 'id="registers-export"' in worker_page and 'id="registers-import"' not in worker_page
    assert 'href="/admin/people"' not in worker_page  # no tab for a page their role cannot open
    assert city.client.get("/admin/registers", headers=city.h("planner")).status_code == 403
    assert 'href="/admin/registers"' not in city.client.get("/admin", headers=city.h("planner")).get_data(as_text=True)


def test_a_community_admin_reads_the_trail_of_their_own_ground_only(city):
    h = city.h("admin")
    assert city.client.post("/api/v1/people", json={"code": "W9100", "name": "远方", "role": "grid_worker"}, headers=h).status_code == 201
    assert city.client.post("/api/v1/people/W9100/assignments", json={"area": OTHER_GRID, "duty": "primary"}, headers=h).status_code == 201
    assert city.client.post("/api/v1/people", json={"code": "W9101", "name": "近邻", "role": "grid_worker"}, headers=h).status_code == 201
    assert city.client.post("/api/v1/people/W9101/assignments", json={"area": TEST_GRID, "duty": "backup"}, headers=h).status_code == 201
    everyone = city.client.get("/api/v1/audit", headers=city.h("command_centre")).json["changes"]
    assert {"W9100", "W9101"} <= {c["key"] for c in everyone if c["kind"] == "worker"}
    mine = city.client.get("/api/v1/audit", headers=city.h("community_admin")).json["changes"]
    keys = {(c["kind"], c["key"]) for c in mine}
    assert ("worker", "W9101") in keys and ("worker", "W9100") not in keys
    assert all(c["after"]["area"].startswith(COMMUNITY) for c in mine if c["kind"] == "assignment")
    page = city.client.get("/admin/audit", headers=city.h("community_admin")).get_data(as_text=True)
    assert "W9101" in page and "W9100" not in page
    with city.app.app_context(), city.session() as s:  # paged one row at a time, the older rows stay reachable
        from gridops.registers.audit import ChangeQuery
        from gridops.registers.trail import visible_page
        from gridops.web.context import use_case_context

        reader = city.app.extensions["gridops.principals"].principal(s, city.tokens["community_admin"])
        first, older = visible_page(s, use_case_context(city.app), reader, ChangeQuery(limit=1))
        second, _ = visible_page(s, use_case_context(city.app), reader, ChangeQuery(limit=1, before_id=older))
    assert [r["id"] for r in first + second] == [r["id"] for r in mine[:2]]
    answered = city.client.get(f"/api/v1/assignments?area={OTHER_GRID}", headers=city.h("community_admin"))
    assert answered.status_code == 404  # who answers for another community's grid is not theirs to read
    assert city.client.get(f"/api/v1/assignments?area={TEST_GRID}", headers=city.h("community_admin")).status_code == 200


def test_the_city_keeps_its_categories_classes_and_stage_limits_on_the_page(city, artifacts_dir, backend, tmp_path):
    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai",
                                base_url=base)
        page = context.new_page()
        seen = watch(page, base)
        page.goto("/admin")
        page.fill("#token", city.tokens["admin"])
        page.click("button[type=submit]")
        page.wait_for_url("**/admin")
        page.goto("/admin/categories")
        heads = page.locator("tr.class-head").all_inner_texts()
        assert heads[0].startswith("矛盾纠纷") and any(h.startswith("安全隐患") for h in heads), heads
        row = page.locator("#cat-dispute\\.neighbour").inner_text()
        assert "4 小时" in row and "72 小时" in row and "48 小时" in row, row  # accept, handle, verify

        page.locator("#cat-dispute\\.neighbour a").click()
        page.fill("#category-edit [name=accept_limit_minutes]", "100")  # longer than handling it: refused, said why
        said = _submit(page, "#category-edit")
        assert said == "参数有误：受理时限（6000 分钟）不能长于整个处置时限（4320 分钟）。", said  # all of it in Chinese
        page.fill("#category-edit [name=accept_limit_minutes]", "1")
        page.fill("#category-edit [name=verify_limit_minutes]", "")  # no verify limit of its own
        with page.expect_navigation():  # a saved form reloads its page: the next form is filled on the new one
            assert _submit(page, "#category-edit") == "已保存。"

        sheet = tmp_path / "分类.csv"
        sheet.write_text("大类代码,大类名称,小类代码,小类名称,紧急程度,受理时限(小时),处置时限(小时)\n"
                         "01,市容环境,0101,暴露垃圾,一般,2,48\n01,市容环境,0102,积存渣土,很急,2,48\n", encoding="utf-8")
        page.set_input_files("#categories-import [name=file]", str(sheet))
        said = _submit(page, "#categories-import")
        assert said.startswith("文件有误：") and "第 3 行" in said, said
        page.screenshot(path=str(artifacts_dir / f"admin-categories-refused-{backend.name}.png"), full_page=True)
        sheet.write_text(sheet.read_text(encoding="utf-8").replace("很急", "紧急"), encoding="utf-8")
        page.set_input_files("#categories-import [name=file]", str(sheet))
        assert _submit(page, "#categories-import") == "已导入 2 行：新增 2，修改 0，未变 0。"
        page.goto("/admin/categories")
        assert page.locator("#class-01").inner_text().startswith("市容环境")
        assert "1 小时" in page.locator("#cat-dispute\\.neighbour").inner_text()
        page.screenshot(path=str(artifacts_dir / f"admin-categories-{backend.name}.png"), full_page=True)
        unexpected = [e for e in seen.errors if not re.search(r"status of (400|422)", e)]  # the two refusals asked for above
        assert not unexpected and not seen.outside(), (unexpected, seen.outside())
        context.close()
    cats = {c["code"]: c for c in city.client.get("/api/v1/categories", headers=city.h("admin")).json["categories"]}
    assert cats["dispute.neighbour"]["accept_limit_minutes"] == 60 and cats["dispute.neighbour"]["verify_limit_minutes"] is None
    assert cats["0102"]["urgency"] == "urgent"
