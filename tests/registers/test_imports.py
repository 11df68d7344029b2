"""Every register in bulk, over HTTP on both backends: workers, assignments, buildings and the visit registers.

For each: a good file (the clerk's own Chinese headers) is stored in one transaction through the register's
own functions and shows up; a file with one bad row stores nothing and names the row by its sheet number;
what is exported imports back as it is (nothing changed); a community admin exports their own ground only.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from gridops.boundaries.areas import version_in_force
from gridops.core.models import Area, Assignment, Building, Household, PatrolRegister, Worker
from gridops.field.patrols import schedule_visits
from gridops.web.context import use_case_context
from tests.conftest import TEST_GRID, TEST_POINT

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SH = ZoneInfo("Asia/Shanghai")
COMMUNITY = TEST_GRID[:12]
OTHER_GRID = "510199002003001"  # of another community


def _workbook(header: list[str], rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(header: list[str], rows: list[list]) -> bytes:
    return ("\n".join([",".join(header), *(",".join("" if c is None else str(c) for c in r) for r in rows)]) + "\n").encode()


def _post(city, path: str, data: bytes, who: str, name: str = "file.xlsx"):
    return city.client.post(path, data={"file": (io.BytesIO(data), name), "note": "批量导入"},
                            content_type="multipart/form-data", headers=city.h(who))


def _round_trip(city, register: str, path: str, who: str = "admin") -> int:
    """Export as a workbook and import it back unchanged: every row counted unchanged; the number of rows."""
    out = city.client.get(f"/api/v1/{path}/export?format=xlsx", headers=city.h(who))
    assert out.status_code == 200 and out.mimetype == XLSX, register
    n = sum(1 for _ in load_workbook(io.BytesIO(out.data), read_only=True).worksheets[0].iter_rows()) - 1
    back = city.client.post(f"/api/v1/{path}/import", data=out.data, content_type=XLSX, headers=city.h(who))
    assert back.status_code == 200 and back.json == {"rows": n, "created": 0, "updated": 0, "unchanged": n}, (register, back.json)
    return n


def _named(res) -> set[tuple[int, str]]:
    assert res.status_code == 422 and res.content_type == "application/problem+json", res.json
    assert res.json["type"].endswith("/invalid-file") and "nothing was imported" in res.json["detail"]
    return {(r["row"], r["field"]) for r in res.json["rows"]}


def _trail(city, kind: str, key: str | None = None) -> list[dict]:
    return city.client.get(f"/api/v1/audit?kind={kind}" + (f"&key={key}" if key else ""), headers=city.h("admin")).json["changes"]


def test_workers_in_bulk_from_the_offices_workbook(city):
    everyone = _round_trip(city, "workers", "people")
    leaver = city.workers["grid_worker"]
    header = ["工号", "姓名", "电话", "角色", "部门", "在岗"]
    rows = [["W9301", "林晓", "13800009301", "网格员", None, "是"], [leaver, None, None, None, None, "否"],
            ["W9302", None, None, "警察", None, None]]  # row 4: a new worker with no name, an unknown role
    assert _named(_post(city, "/api/v1/people/import", _workbook(header, rows), "admin")) == {(4, "name"), (4, "role")}
    with city.session() as s:
        assert s.scalar(select(Worker.id).where(Worker.code == "W9301")) is None
        assert s.scalar(select(Worker.active).where(Worker.code == leaver)) is True  # nothing of the bad file

    rows[2] = ["W9302", "周平", None, "grid_leader", None, None]
    done = _post(city, "/api/v1/people/import", _workbook(header, rows), "admin")
    assert done.status_code == 200 and done.json == {"rows": 3, "created": 2, "updated": 1, "unchanged": 0}, done.json
    added = city.client.get("/api/v1/people/W9301", headers=city.h("admin")).json
    assert (added["name"], added["phone"], added["role"]) == ("林晓", "13800009301", "grid_worker")
    left = city.client.get(f"/api/v1/people/{leaver}", headers=city.h("admin")).json
    assert left["active"] is False and all(a["valid_to"] for a in left["assignments"])  # they left as by hand
    file_rows = _trail(city, "workers")
    assert len(file_rows) == 2 and file_rows[0]["after"] == done.json and file_rows[0]["note"] == "批量导入"
    assert [c["action"] for c in _trail(city, "worker", leaver)][0] == "deactivate"
    assert _trail(city, "worker", "W9301")[0]["action"] == "create"
    assert _round_trip(city, "workers", "people") == everyone + 2

    # a community admin: their own people only, and the roles they may give
    mine = city.client.get("/api/v1/people/export", headers=city.h("community_admin")).get_data(as_text=True)
    assert mine.startswith("\ufeffcode,name,phone,role,department,active") and city.workers["backup"] in mine
    others = {p["code"] for p in city.client.get(f"/api/v1/people?area={OTHER_GRID}", headers=city.h("admin")).json["people"]}
    assert others and not any(f"\r\n{c}," in mine for c in others)
    refused = _post(city, "/api/v1/people/import", _csv(["code", "name", "role"], [["W9303", "某", "supervisor"]]),
                    "community_admin", "people.csv")
    assert _named(refused) == {(2, "role")}


def test_assignments_in_bulk_with_days_in_the_citys_time(city):
    _round_trip(city, "assignments", "assignments")
    assert city.client.post("/api/v1/people", json={"code": "W9311", "name": "新人", "role": "grid_worker"},
                            headers=city.h("admin")).status_code == 201
    header = ["区域", "工号", "职责", "开始日期", "结束日期"]
    rows = [[TEST_GRID, "W9311", "B角", "2026-11-30", None], ["999999999999999", "W9311", "primary", "2026-11-30", None],
            [TEST_GRID, "NO-SUCH", "primary", "2026-11-30", None], [TEST_GRID, "W9311", "backup", "2026-11-31", None],
            [TEST_GRID, "W9311", "backup", "2026-11-30", None]]
    assert _named(_post(city, "/api/v1/assignments/import", _csv(header, rows), "admin", "分工.csv")) == {
        (3, "area"), (4, "worker"), (5, "valid_from"), (6, "worker")}
    with city.session() as s:
        wid = s.scalar(select(Worker.id).where(Worker.code == "W9311"))
        assert s.scalar(select(func.count(Assignment.id)).where(Assignment.worker_id == wid)) == 0

    good = [rows[0], [TEST_GRID, "W9311", "leader", "2026-11-30 08:30", "2026-12-31"]]
    done = _post(city, "/api/v1/assignments/import", _csv(header, good), "admin", "分工.csv")
    assert done.status_code == 200 and done.json["created"] == 2, done.json

    def duties(at: str) -> set[str]:
        found = city.client.get(f"/api/v1/assignments?area={TEST_GRID}&at={at}", headers=city.h("admin")).json["answered"]
        return {a["duty"] for a in found if a["worker"] == "W9311"}

    assert duties("2026-11-29T23:59:00%2B08:00") == set()  # from the city's midnight, not UTC's
    assert duties("2026-11-30T08:00:00%2B08:00") == {"backup"} and duties("2026-11-30T09:00:00%2B08:00") == {"backup", "leader"}
    exported = city.client.get("/api/v1/assignments/export", headers=city.h("admin")).get_data(as_text=True)
    assert f"{TEST_GRID},W9311,backup,2026-11-30,\r\n" in exported
    assert f"{TEST_GRID},W9311,leader,2026-11-30T08:30:00+08:00,2026-12-31\r\n" in exported
    assert _trail(city, "assignments")[0]["after"] == done.json

    ended = _post(city, "/api/v1/assignments/import", _csv(["area", "worker", "duty", "valid_from", "valid_to"],
                                                           [[TEST_GRID, "W9311", "backup", "2026-11-30", "2026-12-15"]]), "admin", "a.csv")
    assert ended.status_code == 200 and ended.json == {"rows": 1, "created": 0, "updated": 1, "unchanged": 0}, ended.json
    longer = _post(city, "/api/v1/assignments/import", _csv(["area", "worker", "duty", "valid_from", "valid_to"],
                                                            [[TEST_GRID, "W9311", "backup", "2026-11-30", "2027-01-31"]]), "admin", "a.csv")
    assert _named(longer) == {(2, "valid_to")}  # an import ends earlier, never reopens

    mine = city.client.get("/api/v1/assignments/export", headers=city.h("community_admin")).get_data(as_text=True)
    assert mine.count("\r\n") > 2 and all(line.startswith(COMMUNITY) for line in mine.split("\r\n")[1:] if line)
    theirs = _post(city, "/api/v1/assignments/import", _csv(["area", "worker"], [[OTHER_GRID, "W9311"]]), "community_admin", "a.csv")
    assert _named(theirs) == {(2, "area")}


def _grid_households(city, grid: str) -> int:
    return city.client.get(f"/api/v1/areas/{grid}").json["properties"]["households"]


def test_buildings_in_bulk_and_the_grids_totals_follow(city):
    _round_trip(city, "buildings", "buildings", "planner")
    with city.session() as s:
        version = version_in_force(s, "grid")
        code, households = s.execute(select(Building.code, Building.households).join(Area, func.ST_Intersects(Area.geom, Building.location))
                                     .where(Area.version_id == version.id, Area.code == TEST_GRID, Building.households > 0)
                                     .order_by(Building.code).limit(1)).one()
    before = _grid_households(city, TEST_GRID)
    listed = city.client.get("/api/v1/buildings/export", headers=city.h("planner")).get_data(as_text=True)
    kept = next(r for r in csv.DictReader(io.StringIO(listed.lstrip("\ufeff"))) if r["code"] == code)
    lon, lat = TEST_POINT
    square = f"POLYGON (({lon - 0.0001} {lat - 0.0001}, {lon + 0.0001} {lat - 0.0001}, {lon + 0.0001} {lat + 0.0001}, " \
             f"{lon - 0.0001} {lat + 0.0001}, {lon - 0.0001} {lat - 0.0001}))"
    header = ["楼栋编码", "名称", "小区", "用途", "层数", "户数", "经度", "纬度", "轮廓"]
    rows = [[code, kept["name"], kept["compound"], kept["use"], kept["floors"], households + 10, kept["lon"], kept["lat"],
             kept["footprint"]],  # as it was but for its households
            ["510199B99001", "新建 1 号楼", "新苑", "住宅", 18, 30, lon, lat, square],
            ["510199B99002", "没有位置", None, None, None, 5, None, None, None],  # row 4: a new building needs its entrance
            ["510199B99003", None, None, "宫殿", 300, "x", lon, lat, "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))"]]
    assert _named(_post(city, "/api/v1/buildings/import", _workbook(header, rows), "planner")) == {
        (4, "lon"), (5, "use"), (5, "floors"), (5, "households"), (5, "footprint")}
    assert _grid_households(city, TEST_GRID) == before
    with city.session() as s:
        assert s.scalar(select(Building.households).where(Building.code == code)) == households

    done = _post(city, "/api/v1/buildings/import", _workbook(header, rows[:2]), "planner")
    assert done.status_code == 200 and done.json == {"rows": 2, "created": 1, "updated": 1, "unchanged": 0}, done.json
    assert _grid_households(city, TEST_GRID) == before + 10 + 30  # the grid's total follows, in the same transaction
    new = city.client.get("/api/v1/buildings/510199B99001", headers=city.h("planner")).json
    assert (new["grid"], new["households"], new["use"], new["floors"], new["compound"]) == (TEST_GRID, 30, "residential", 18, "新苑")
    assert _trail(city, "buildings")[0]["after"] == done.json and _trail(city, "building", "510199B99001")[0]["action"] == "create"
    exported = city.client.get("/api/v1/buildings/export", headers=city.h("planner")).get_data(as_text=True)
    assert "510199B99001,新建 1 号楼,,新苑,residential,18,30," in exported and "MULTIPOLYGON (((" in exported
    back = city.client.post("/api/v1/buildings/import", data=exported.encode(), content_type="text/csv", headers=city.h("planner"))
    assert back.status_code == 200 and back.json["created"] == back.json["updated"] == 0, back.json  # footprints too

    mine = city.client.get("/api/v1/buildings/export", headers=city.h("community_admin")).get_data(as_text=True)
    assert "510199B99001" in mine and 2 < mine.count("\r\n") < exported.count("\r\n")
    far = _post(city, "/api/v1/buildings/import", _csv(["code", "households"], [[_a_building_of(city, OTHER_GRID), 4321]]),
                "community_admin", "b.csv")
    assert _named(far) == {(2, "code")}  # not their ground: the register's own check, named by row


def _a_building_of(city, grid: str) -> str:
    with city.session() as s:
        version = version_in_force(s, "grid")
        return s.scalar(select(Building.code).join(Area, func.ST_Intersects(Area.geom, Building.location))
                        .where(Area.version_id == version.id, Area.code == grid).order_by(Building.code).limit(1))


def _doors_of(city, grid: str) -> list[str]:
    """Household codes of a grid with nobody registered at them."""
    with city.session() as s:
        version = version_in_force(s, "grid")
        taken = select(PatrolRegister.household_id).where(PatrolRegister.household_id.is_not(None))
        return list(s.scalars(select(Household.code).join(Building, Building.id == Household.building_id)
                              .join(Area, func.ST_Intersects(Area.geom, Building.location))
                              .where(Area.version_id == version.id, Area.code == grid, Household.id.not_in(taken))
                              .order_by(Household.code).limit(3)))


def test_visit_registers_in_bulk_schedule_reschedule_and_end(city):
    _round_trip(city, "registers", "patrols")
    keeper = "community_admin"
    entries = city.client.get(f"/api/v1/patrols?area={TEST_GRID}", headers=city.h(keeper)).json["registers"]
    assert len(entries) >= 2
    changed, ended = entries[0], entries[1]
    door, other_door, _ = _doors_of(city, TEST_GRID)
    with city.session() as s:  # a door of a building that is demolished
        version = version_in_force(s, "grid")
        kept = select(Household.building_id).where(Household.code.in_([door, other_door]))
        gone_door, gone = s.execute(select(Household.code, Building.code).join(Building, Building.id == Household.building_id)
                                    .join(Area, func.ST_Intersects(Area.geom, Building.location))
                                    .where(Area.version_id == version.id, Area.code == TEST_GRID, Building.id.not_in(kept),
                                           Building.code.not_in([changed["building"], ended["building"]]))
                                    .order_by(Household.code).limit(1)).one()
    assert city.client.post(f"/api/v1/buildings/{gone}/demolish", json={}, headers=city.h("admin")).status_code == 200
    header = ["登记编号", "门牌码", "楼栋", "类别", "姓名", "电话", "走访间隔", "暂停至", "在册"]
    rows = [[None, door, None, "独居老人", "陈奶奶", "13900001111", None, None, None],
            [None, "NO-SUCH-DOOR", None, "低保户", "王伯", None, None, None, None],
            [None, other_door, None, "游客", "李四", None, None, None, None],
            [999_999_999, None, None, "残疾人", None, None, None, None, None],
            [changed["id"], None, None, None, changed["person"], None, 3, "2026-12-40", None],
            [None, gone_door, None, "残疾人", "周叔", None, None, None, None]]
    assert _named(_post(city, "/api/v1/patrols/import", _workbook(header, rows), keeper)) == {
        (3, "household"), (4, "kind"), (5, "id"), (6, "paused_until"), (7, "household")}
    with city.session() as s:
        assert s.scalar(select(func.count(PatrolRegister.id)).where(PatrolRegister.person == "陈奶奶")) == 0

    rows = [rows[0], [None, other_door, None, "低保", "王伯", None, None, None, None],
            [changed["id"], None, None, changed["kind"], changed["person"], changed["phone"], 3, "2026-12-10", None],
            [ended["id"], None, None, None, ended["person"], None, None, None, "否"]]
    done = _post(city, "/api/v1/patrols/import", _workbook(header, rows), keeper)
    assert done.status_code == 200 and done.json == {"rows": 4, "created": 2, "updated": 2, "unchanged": 0}, done.json
    with city.app.app_context(), city.session() as s:
        schedule_visits(s, use_case_context(city.app))
    now = {r["id"]: r for r in city.client.get(f"/api/v1/patrols?area={TEST_GRID}", headers=city.h(keeper)).json["registers"]}
    new = next(r for r in now.values() if r["person"] == "陈奶奶")
    assert new["kind"] == "elderly_alone" and new["interval_days"] == 7 and new["household"] == door
    due = datetime.fromisoformat(new["open_visit"]["due_at"]).astimezone(SH).date()
    assert due <= (city.clock["t"] + timedelta(days=2)).date()  # the first visit within the first days, as added by hand
    assert next(r for r in now.values() if r["person"] == "王伯")["kind"] == "low_income"
    assert now[changed["id"]]["interval_days"] == 3 and now[changed["id"]]["paused_until"] == "2026-12-10"
    assert now[changed["id"]]["open_visit"] is None and ended["id"] not in now  # paused: nobody knocks; ended: gone
    assert [c["action"] for c in _trail(city, "register", str(changed["id"]))][:2] == ["pause", "update"]
    assert _trail(city, "register", str(new["id"]))[0]["action"] == "create"
    assert _trail(city, "registers")[0]["after"] == done.json

    mine = city.client.get("/api/v1/patrols/export", headers=city.h(keeper)).get_data(as_text=True)
    everyone = city.client.get("/api/v1/patrols/export", headers=city.h("admin")).get_data(as_text=True)
    grids = {line.rsplit(",", 1)[1] for line in mine.split("\r\n")[1:] if line}
    assert grids and all(g.startswith(COMMUNITY) for g in grids) and mine.count("\r\n") < everyone.count("\r\n")
    _round_trip(city, "registers", "patrols", "grid_leader")  # ID numbers masked for a grid leader: read back as they are
