"""Categories as the city keeps them: classes (大类) above them, a limit per stage, and a whole taxonomy
imported from the sheet a city receives (GB/T 30428-style), all or nothing."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from openpyxl import Workbook
from sqlalchemy import func, select

from gridops.core.models import Category, CategoryGroup, ReferenceChange
from tests.conftest import TEST_POINT

HEADER = ["大类代码", "大类名称", "小类代码", "小类名称", "紧急程度", "受理时限(小时)", "处置时限(小时)", "核查时限（小时）",
          "按工作时", "处置主体", "责任部门"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _workbook(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(city, data: bytes, who: str = "admin", name: str = "事件分类.xlsx"):
    return city.client.post("/api/v1/categories/import", data={"file": (io.BytesIO(data), name)},
                            content_type="multipart/form-data", headers=city.h(who))


GOOD = [
    ["01", "市容环境", "0101", "暴露垃圾", "一般", 2, 48, 24, "否", "部门", "sanitation"],
    ["01", "市容环境", "0102", "积存垃圾渣土", "一般", 4, 72, None, "否", "部门", "sanitation"],
    ["02", "宣传广告", "0201", "非法小广告", "低", None, 3 * 8, 8, "是", "网格", None],
    ["03", "施工管理", None, None, None, None, None, None, None, None, None],  # a class with no categories yet
    [None, None, "order.noise", None, "紧急", None, None, None, None, None, None],  # a change to one the city has
]


def test_a_taxonomy_sheet_adds_classes_and_categories_and_a_report_gets_their_stage_limits(city):
    res = _upload(city, _workbook(GOOD))
    assert res.status_code == 200, res.json
    assert res.json == {"rows": 5, "created": ["0101", "0102", "0201"], "updated": ["order.noise"],
                        "groups_created": ["01", "02", "03"], "groups_updated": [], "unchanged": 0}
    groups = {g["code"]: g for g in city.client.get("/api/v1/category-groups", headers=city.h("grid_worker")).json["groups"]}
    assert groups["01"]["name"] == "市容环境" and groups["01"]["categories"] == 2 and groups["03"]["categories"] == 0
    assert groups["dispute"]["name"] == "矛盾纠纷"  # the demo city's own classes, named
    cats = {c["code"]: c for c in city.client.get("/api/v1/categories", headers=city.h("admin")).json["categories"]}
    assert cats["0101"]["accept_limit_minutes"] == 120 and cats["0101"]["time_limit_minutes"] == 48 * 60
    assert cats["0101"]["verify_limit_minutes"] == 24 * 60 and cats["0101"]["department_code"] == "sanitation"
    assert cats["0201"]["working_time"] is True and cats["0201"]["urgency"] == "low" and cats["0201"]["handler"] == "grid"
    assert cats["order.noise"]["urgency"] == "urgent" and cats["order.noise"]["time_limit_minutes"] == 3 * 24 * 60  # the rest kept
    assert cats["order.noise"]["group_code"] == "order"  # its class cell empty: still in its class
    with city.session() as s:
        trail = s.scalars(select(ReferenceChange).where(ReferenceChange.kind == "category", ReferenceChange.action == "import")).all()
    assert len(trail) == 1 and trail[0].before == {"order.noise": {"urgency": "normal"}}
    assert set(trail[0].after) == {"group:01", "group:02", "group:03", "0101", "0102", "0201", "order.noise"}

    res = city.client.post("/api/v1/incidents", json={"category": "0101", "lon": TEST_POINT[0], "lat": TEST_POINT[1]},
                           headers=city.h("resident"))
    assert res.status_code == 201, res.json
    now = city.clock["t"]
    assert datetime.fromisoformat(res.json["accept_due_at"]) == now + timedelta(hours=2)
    assert datetime.fromisoformat(res.json["due_at"]) == now + timedelta(hours=48)
    assert res.json["department"] == "sanitation"

    # the city's own sheet back, and in again: nothing changes
    sheet = city.client.get("/api/v1/categories/export?format=xlsx", headers=city.h("grid_worker"))
    assert sheet.status_code == 200 and sheet.mimetype == XLSX
    again = _upload(city, sheet.data, name="categories.xlsx")
    assert again.status_code == 200 and again.json["created"] == again.json["updated"] == [], again.json
    assert again.json["groups_created"] == again.json["groups_updated"] == []
    text = city.client.get("/api/v1/categories/export", headers=city.h("admin")).data.decode("utf-8-sig")
    assert "03,施工管理" in text and "0101,暴露垃圾" in text


def test_a_taxonomy_sheet_with_bad_rows_stores_nothing_and_names_each_row(city):
    with city.session() as s:
        before = (s.scalar(select(func.count()).select_from(Category)), s.scalar(select(func.count()).select_from(CategoryGroup)))
    rows = [
        GOOD[0],
        ["01", "市容环境", "0102", "积存垃圾渣土", "一般", 4, 72, None, "否", "部门", "no_such_department"],  # row 3
        ["01", "市容环境", "0101", "暴露垃圾（重复）", "一般", 2, 48, 24, "否", "部门", "sanitation"],  # row 4: 0101 twice
        ["02", "宣传广告", "0201", "非法小广告", "很急", "两小时", 24, 8, "也许", "网格", None],  # row 5: three bad cells
        ["04", None, "0401", "无名大类下的小类", "一般", None, 24, None, None, None, None],  # row 6: a new class unnamed
        ["05", "街面秩序", "0501", "无照经营", "一般", None, None, None, None, None, None],  # row 7: a new one with no limit
        [None, None, "dispute.neighbour", None, None, 96, None, None, None, None, None],  # row 8: accept outlasts handling
    ]
    res = _upload(city, _workbook(rows))
    assert res.status_code == 422 and res.content_type == "application/problem+json", res.json
    named = {(r["row"], r["field"]) for r in res.json["rows"]}
    assert {(4, "code"), (5, "urgency"), (5, "accept_hours"), (5, "working_time")} <= named, res.json["rows"]
    res = _upload(city, _workbook([r for k, r in enumerate(rows) if k not in (2, 3)]))  # the rows checked one by one
    assert res.status_code == 422, res.json
    named = {(r["row"], r["field"]) for r in res.json["rows"]}
    assert named == {(3, "department_code"), (4, "group_name"), (5, "time_limit_minutes"), (6, "accept_limit_minutes")}, res.json
    assert "nothing was imported" in res.json["detail"]
    with city.session() as s:
        assert (s.scalar(select(func.count()).select_from(Category)),
                s.scalar(select(func.count()).select_from(CategoryGroup))) == before
        assert s.get(Category, "dispute.neighbour").accept_limit_minutes == 240
    assert _upload(city, _workbook(GOOD), who="community_admin").status_code == 403


def test_classes_are_named_ordered_and_removed_only_when_empty(city, english):
    admin = city.h("admin")
    res = city.client.put("/api/v1/category-groups/06", json={"name": "突发事件", "name_en": "Emergencies", "position": 5},
                          headers=admin)
    assert res.status_code == 200 and res.json == {"code": "06", "name": "突发事件", "name_en": "Emergencies", "position": 5,
                                                   "categories": 0}, res.json
    assert city.client.get("/api/v1/category-groups", headers=admin).json["groups"][0]["code"] == "06"  # first in the order
    assert city.client.put("/api/v1/category-groups/07", json={}, headers=admin).status_code == 400  # a new one needs a name
    res = city.client.patch("/api/v1/categories/order.noise", json={"group_code": "no-such-class"}, headers=admin)
    assert res.status_code == 400 and res.json["field"] == "group_code"
    assert city.client.patch("/api/v1/categories/order.noise", json={"group_code": "06"}, headers=admin).status_code == 200
    res = city.client.delete("/api/v1/category-groups/06", headers=admin)
    assert res.status_code == 409 and "order.noise" not in res.json["detail"] and "1 categories" in res.json["detail"]
    assert city.client.delete("/api/v1/category-groups/order", headers=admin).status_code == 409  # its others remain
    assert city.client.patch("/api/v1/categories/order.noise", json={"group_code": "order"}, headers=admin).status_code == 200
    assert city.client.delete("/api/v1/category-groups/06", headers=admin).status_code == 204
    assert city.client.put("/api/v1/category-groups/08", json={"name": "x"}, headers=city.h("community_admin")).status_code == 403
    trail = city.client.get("/api/v1/audit?kind=category_group&key=06", headers=admin).json["changes"]
    assert [c["action"] for c in trail] == ["remove", "create"]
