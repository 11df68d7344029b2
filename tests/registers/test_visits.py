"""A register entry kept as a life changes, over the API on both backends: paused while she is in hospital,
visited soon after, moved in with her son in the next grid (her visits go to that grid's worker), ended —
each change rescheduling her visits at once and kept in the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from gridops.boundaries.areas import version_in_force
from gridops.core.models import Area, Building, Household, Task, Worker
from gridops.field.patrols import schedule_visits
from gridops.web.context import use_case_context
from tests.conftest import TEST_GRID

SH = ZoneInfo("Asia/Shanghai")
COMMUNITY = TEST_GRID[:12]


def _doors(city) -> dict[str, list[str]]:
    """Household codes of the community by the grid their building stands in."""
    with city.session() as s:
        version = version_in_force(s, "grid")
        rows = s.execute(select(Household.code, Area.code).join(Building, Building.id == Household.building_id)
                         .join(Area, func.ST_Intersects(Area.geom, Building.location))
                         .where(Area.version_id == version.id, Area.level == "grid", Area.code.like(f"{COMMUNITY}%"))
                         .order_by(Household.code)).all()
    doors: dict[str, list[str]] = {}
    for household, grid in rows:
        doors.setdefault(grid, []).append(household)
    return doors


def _sweep(city) -> None:
    with city.app.app_context(), city.session() as s:
        schedule_visits(s, use_case_context(city.app))


def _entry(city, entry_id: int) -> dict:
    found = city.client.get(f"/api/v1/patrols?area={COMMUNITY}", headers=city.h("community_admin")).json["registers"]
    return next(r for r in found if r["id"] == entry_id)


def test_a_register_entry_is_paused_moved_and_ended_and_its_visits_follow(city):
    keeper = city.h("community_admin")
    doors = _doors(city)
    here = doors[TEST_GRID][0]
    there_grid = next(g for g in doors if g != TEST_GRID)
    there = doors[there_grid][0]
    made = city.client.post("/api/v1/patrols", json={"household": here, "kind": "elderly_alone", "person": "陈奶奶"}, headers=keeper)
    assert made.status_code == 201, made.json
    entry = made.json["id"]
    _sweep(city)
    first = _entry(city, entry)["open_visit"]
    assert first is not None  # a new entry is visited within its first days
    assert datetime.fromisoformat(first["due_at"]).astimezone(SH).date() <= (city.clock["t"] + timedelta(days=2)).date()

    paused = city.client.post(f"/api/v1/patrols/{entry}/pause", json={"until": "2026-11-30", "note": "住院"}, headers=keeper)
    assert paused.status_code == 200, paused.json
    assert paused.json["visits_cancelled"] == 1 and paused.json["open_visit"] is None
    assert paused.json["paused_until"] == "2026-11-30"
    assert datetime.fromisoformat(paused.json["next_visit_from"]).astimezone(SH) == datetime(2026, 12, 1, tzinfo=SH)
    _sweep(city)
    assert _entry(city, entry)["open_visit"] is None  # nobody knocks while she is in hospital
    city.clock["t"] = datetime(2026, 12, 1, 9, 30, tzinfo=SH)
    _sweep(city)
    back = _entry(city, entry)["open_visit"]
    assert back is not None and datetime.fromisoformat(back["due_at"]).astimezone(SH).date() == datetime(2026, 12, 3).date()

    moved = city.client.post(f"/api/v1/patrols/{entry}/move", json={"household": there, "note": "随子女居住"}, headers=keeper)
    assert moved.status_code == 200, moved.json
    assert moved.json["household"] == there and moved.json["grid"] == there_grid and moved.json["visits_cancelled"] == 1
    new_visit = moved.json["open_visit"]
    assert new_visit is not None and new_visit["task"] != back["task"]  # the next grid's worker has it at once
    with city.session() as s:
        task = s.get(Task, new_visit["task"])
        answering = city.client.get(f"/api/v1/assignments?area={there_grid}", headers=keeper).json["answered"]
        assert task.area_code == there_grid and s.get(Worker, task.worker_id).code in {a["worker"] for a in answering}
    far = city.client.post(f"/api/v1/patrols/{entry}/move", json={"building": "510199B99999"}, headers=keeper)
    assert far.status_code == 404
    assert city.client.post(f"/api/v1/patrols/{entry}/pause", json={"until": "2026-11-01"}, headers=keeper).status_code == 400
    other = city.client.post(f"/api/v1/patrols/{entry}/end", json={}, headers=city.h("stranger_worker"))
    assert other.status_code == 403

    changed = city.client.patch(f"/api/v1/patrols/{entry}", json={"interval_days": 3, "note": "身体变差"}, headers=keeper)
    assert changed.status_code == 200 and changed.json["interval_days"] == 3
    ended = city.client.post(f"/api/v1/patrols/{entry}/end", json={"note": "已迁出本社区"}, headers=keeper)
    assert ended.status_code == 200 and ended.json["active"] is False and ended.json["open_visit"] is None
    assert city.client.patch(f"/api/v1/patrols/{entry}", json={"interval_days": 7}, headers=keeper).status_code == 409
    _sweep(city)
    assert all(r["id"] != entry for r in city.client.get(f"/api/v1/patrols?area={COMMUNITY}", headers=keeper).json["registers"])
    trail = city.client.get(f"/api/v1/audit?kind=register&key={entry}", headers=keeper).json["changes"]
    assert [c["action"] for c in trail] == ["end", "update", "move", "pause", "create"]  # adding one is audited too
    assert trail[4]["after"]["person"] == "陈奶奶" and trail[4]["actor"] == "community_admin:community_admin"
    assert trail[3]["note"] == "住院" and trail[3]["after"]["paused_until"] == "2026-11-30"
