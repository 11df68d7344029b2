"""Households imported from the clerk's workbook: every row checked, all stored or nothing, the bad rows named."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from gridops.core.models import Building, Household


def _workbook(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["门牌码", "楼栋", "单元", "楼层", "房号", "人数"])  # the clerk's own headers
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _buildings(city, n=2) -> list[str]:
    with city.session() as s:
        return list(s.scalars(select(Building.code).order_by(Building.code).limit(n)))


def test_a_workbook_with_one_bad_row_stores_nothing_and_names_the_row(city):
    a, b = _buildings(city)
    with city.session() as s:
        before = s.scalar(select(func.count(Household.id)))
    rows = [[f"HH-T-{k}", a, "1", 3, f"30{k}", 2] for k in range(1, 6)]
    rows.insert(3, ["HH-T-X", "NO-SUCH-BUILDING", "1", "三", "301", 2])  # row 5 of the sheet
    rows.append(["HH-T-1", b, "2", 1, "101", 1])  # a door code repeated: row 8
    res = city.client.post("/api/v1/households/import", data={"file": (io.BytesIO(_workbook(rows)), "户籍.xlsx")},
                           content_type="multipart/form-data", headers=city.h("admin"))
    assert res.status_code == 422 and res.content_type == "application/problem+json", res.json
    named = {(r["row"], r["field"]) for r in res.json["rows"]}
    assert named == {(5, "building"), (5, "floor"), (8, "code")}, res.json["rows"]
    assert "row 5" in res.json["detail"] and "nothing was imported" in res.json["detail"]
    with city.session() as s:
        assert s.scalar(select(func.count(Household.id))) == before


def test_a_good_workbook_adds_and_updates_in_one_transaction_and_exports_back(city):
    a, b = _buildings(city)
    with city.session() as s:
        known = s.scalar(select(Household.code).order_by(Household.code).limit(1))
    rows = [[f"HH-N-{k}", a, "1", 2, f"20{k}", 3] for k in range(1, 4)] + [[known, b, "3", 5, "501", 4]]
    res = city.client.post("/api/v1/households/import", data=_workbook(rows),
                           content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", headers=city.h("planner"))
    assert res.status_code == 200 and res.json == {"rows": 4, "created": 3, "updated": 1, "unchanged": 0}, res.json
    with city.session() as s:
        moved = s.scalar(select(Household).where(Household.code == known))
        assert moved.room == "501" and moved.persons == 4 and moved.floor == 5
    trail = city.client.get("/api/v1/audit?kind=households", headers=city.h("admin")).json["changes"]
    assert trail[0]["after"] == {"rows": 4, "created": 3, "updated": 1, "unchanged": 0} and trail[0]["actor"] == "planner:planner"
    xlsx = city.client.get("/api/v1/households/export?format=xlsx", headers=city.h("command_centre"))
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(xlsx.data), read_only=True).worksheets[0]
    got = {r[0]: r for r in sheet.iter_rows(values_only=True)}
    assert got["HH-N-2"][1:] == (a, "1", 2, "202", 3)
    csv_text = city.client.get("/api/v1/households/export", headers=city.h("community_admin")).get_data(as_text=True)
    assert csv_text.startswith("\ufeffcode,building,unit,floor,room,persons")
    from gridops.registers.buildings import placed
    from gridops.web.context import use_case_context
    from tests.conftest import TEST_GRID

    with city.session() as s:
        grid = placed(s, use_case_context(city.app), s.scalar(select(Building).where(Building.code == a))).grid
    everyone = city.client.get("/api/v1/households/export", headers=city.h("admin")).get_data(as_text=True)
    assert ("HH-N-2" in csv_text) == (grid or "").startswith(TEST_GRID[:12])  # a community admin exports their own ground
    assert 0 < csv_text.count("\n") < everyone.count("\n")
    assert city.client.post("/api/v1/households/import", data=b"\xff\xfe bad", content_type="text/csv",
                            headers=city.h("admin")).status_code == 400
    assert city.client.post("/api/v1/households/import", data=_workbook([]), content_type="application/vnd.openxmlformats-"
                            "officedocument.spreadsheetml.sheet", headers=city.h("command_centre")).status_code == 403


def test_a_file_with_fewer_columns_leaves_the_others_as_they_were(city):
    with city.session() as s:
        h = s.scalar(select(Household).where(Household.floor.is_not(None), Household.room.is_not(None)).order_by(Household.id).limit(1))
        code, building_id, floor, room = h.code, h.building_id, h.floor, h.room
        building = s.get(Building, building_id).code
    res = city.client.post("/api/v1/households/import", data=f"code,building\n{code},{building}\n".encode(), content_type="text/csv",
                           headers=city.h("admin"))
    assert res.status_code == 200 and res.json["unchanged"] == 1, res.json  # nothing the file has differs
    with city.session() as s:
        again = s.scalar(select(Household).where(Household.code == code))
        assert (again.floor, again.room) == (floor, room)
