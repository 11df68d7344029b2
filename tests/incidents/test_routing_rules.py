"""Routing's rule chain on plain data, no database: who a report goes to, and the reason, as the shifts,
the open work and the workers' positions decide (分格发令，部门执行)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from gridops.incidents.routing import Ground, WorkLoad, route
from gridops.reference.data import AssignmentRef, CategoryRef, Reference, WorkerRef

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
MONDAY_NIGHT = datetime(2026, 11, 23, 23, 0, tzinfo=SH)
GROUND = Ground("510199001002005", "510199001002", "510199001")
SITE = (104.1003, 30.6203)
SINCE = datetime(2026, 1, 1, tzinfo=UTC)

DISPUTE = CategoryRef("dispute.neighbour", "邻里纠纷", "dispute", "dispute", "normal", 4320, False, "grid", None, None, None, True)
MEDICAL = CategoryRef("care.medical", "就医求助", "medical", "care", "critical", 120, False, "grid", None, None, None, True)
FIRE = CategoryRef("hazard.fire_exit", "消防通道", "fire exit", "hazard", "urgent", 1440, False, "department", "fire", None, None, True)

# 1 the grid's worker, 2 its backup, 3 its leader, 4 and 5 other grid workers of the community,
# 6 and 7 fire department staff, 8 the command centre on duty
WORKERS = {
    1: WorkerRef(1, "W1", "王伟", "grid_worker", None, True), 2: WorkerRef(2, "W2", "李娜", "grid_worker", None, True),
    3: WorkerRef(3, "L1", "张强", "grid_leader", None, True), 4: WorkerRef(4, "W4", "刘洋", "grid_worker", None, True),
    5: WorkerRef(5, "W5", "陈静", "grid_worker", None, True), 6: WorkerRef(6, "F1", "杨军", "department_staff", "fire", True),
    7: WorkerRef(7, "F2", "赵敏", "department_staff", "fire", True), 8: WorkerRef(8, "C1", "周涛", "supervisor", None, True),
}
ASSIGNMENTS = (
    AssignmentRef(1, 1, "grid", GROUND.grid, "primary", SINCE, None), AssignmentRef(2, 2, "grid", GROUND.grid, "backup", SINCE, None),
    AssignmentRef(3, 3, "grid", GROUND.grid, "leader", SINCE, None),
    AssignmentRef(4, 4, "grid", "510199001002006", "primary", SINCE, None),
    AssignmentRef(5, 5, "grid", "510199001002007", "primary", SINCE, None),
)
DAY = tuple((wd, time(8, 30), time(17, 30)) for wd in range(5))


def ref(on_duty: set[int], night: set[int] = frozenset()) -> Reference:
    """Everyone has a rota (someone with none would be on duty in office hours): the day workers', the night
    workers', and an empty one for the rest, who are off."""
    shifts = ({w: () for w in WORKERS} | {w: DAY for w in on_duty}
              | {w: tuple((wd, time(22, 0), time(6, 0)) for wd in range(7)) for w in night})
    return Reference(1, {c.code: c for c in (DISPUTE, MEDICAL, FIRE)}, {}, WORKERS, ASSIGNMENTS, shifts, None, (0, 0))


def go(reference, category, at=MONDAY_10, *, open_work=None, positions=None, exclude=(), tier="grid"):
    load = WorkLoad(lambda ids: {w: (open_work or {}).get(w, 0) for w in ids})
    where = positions or {}
    return route(reference, category, GROUND, at, tz=TZ, lon=SITE[0], lat=SITE[1], load=load,
                 positions=lambda ids: [(w, *where[w]) for w in ids if w in where], tier=tier, exclude=exclude)


def test_the_grid_worker_on_shift_first():
    chosen = go(ref({1, 2, 3}), DISPUTE)
    assert (chosen.worker_id, chosen.reason, chosen.tier) == (1, "grid worker on shift", "grid")


def test_then_the_backup_then_the_leader():
    assert go(ref({2, 3}), DISPUTE).reason == "backup: primary off shift"
    chosen = go(ref({3}), DISPUTE)
    assert (chosen.worker_id, chosen.reason) == (3, "grid leader: grid workers off shift")
    assert go(ref({1, 2, 3}), DISPUTE, exclude=[1]).reason == "backup: primary declined"


def test_then_the_nearest_on_shift_in_the_community_least_work_breaking_ties():
    near, far = (SITE[0] + 0.001, SITE[1]), (SITE[0] + 0.01, SITE[1])
    chosen = go(ref({4, 5}), DISPUTE, positions={4: far, 5: near})
    assert chosen.worker_id == 5 and chosen.reason.startswith("nearest on shift in the community: ") and chosen.reason.endswith("straight")
    same = go(ref({4, 5}), DISPUTE, positions={4: near, 5: near}, open_work={4: 3, 5: 1})
    assert same.worker_id == 5  # as near as each other: the one with less open work


def test_nobody_on_shift_keeps_it_with_the_grids_worker_unless_it_cannot_wait():
    night = ref({1, 2, 3}, night={8})
    assert go(night, DISPUTE, MONDAY_NIGHT).reason == "nobody on shift: the grid's own worker"
    critical = go(night, MEDICAL, MONDAY_NIGHT)
    assert critical.worker_id == 8 and critical.tier == "district" and "command centre on duty" in critical.reason


def test_a_worker_who_declines_at_night_hands_it_to_the_rest_of_the_grids_team():
    """The grid's worker declines while nobody is on shift: it stays with the grid's team (its backup), never
    with nobody (it used to be left unassigned, "nobody answers for this grid")."""
    night = ref({1, 2, 3})
    chosen = go(night, DISPUTE, MONDAY_NIGHT, exclude=[1])
    assert (chosen.worker_id, chosen.reason) == (2, "nobody on shift: the grid's backup (primary declined)")
    chosen = go(night, DISPUTE, MONDAY_NIGHT, exclude=[1, 2])
    assert (chosen.worker_id, chosen.reason) == (3, "nobody on shift: the grid leader (grid workers declined)")


def test_a_department_category_goes_to_its_staff_least_loaded():
    chosen = go(ref({6, 7}), FIRE, open_work={6: 4, 7: 2})
    assert (chosen.worker_id, chosen.department_code, chosen.tier) == (7, "fire", "district")
    assert chosen.reason == "department fire: staff on shift"


@pytest.mark.parametrize(("tier", "worker", "reason"), [
    ("grid_leader", 3, "escalated to the grid leader on shift"),
    ("community", None, "nobody answers at the community tier"),
])
def test_escalation_goes_to_the_tier_above(tier, worker, reason):
    chosen = go(ref({1, 2, 3}), DISPUTE, tier=tier)
    assert (chosen.worker_id, chosen.reason) == (worker, reason)


def _with_community_admin(assignments=ASSIGNMENTS, on_duty=frozenset({9})) -> Reference:
    workers = {**WORKERS, 9: WorkerRef(9, "S1", "孙丽", "community_staff", None, True)}
    admin = AssignmentRef(9, 9, "grid", GROUND.community, "primary", SINCE, None)
    return Reference(1, {c.code: c for c in (DISPUTE, MEDICAL, FIRE)}, {}, workers, (*assignments, admin),
                     {w: DAY for w in on_duty}, None, (0, 0))


def test_a_grid_nobody_answers_for_goes_to_its_community_admin_saying_so():
    """小事不出网格: a grid whose worker left and that has no leader yet is not an orphan: its community's admin takes it."""
    others = tuple(a for a in ASSIGNMENTS if a.area_code != GROUND.grid)
    chosen = go(_with_community_admin(others), DISPUTE)
    assert chosen.worker_id == 9
    assert chosen.reason == f"no grid worker or leader for grid {GROUND.grid}: the community admin on shift"
    at_night = go(_with_community_admin(others, on_duty=frozenset()), DISPUTE, MONDAY_NIGHT)
    assert at_night.worker_id == 9 and at_night.reason.endswith("the community admin (off shift)")
    nobody = go(Reference(1, {DISPUTE.code: DISPUTE}, {}, WORKERS, others, {}, None, (0, 0)), DISPUTE)
    assert (nobody.worker_id, nobody.reason) == (None, f"nobody answers for grid {GROUND.grid} or its community")


def test_a_critical_report_in_an_uncovered_grid_at_night_goes_to_the_command_centre_not_a_sleeping_admin():
    others = tuple(a for a in ASSIGNMENTS if a.area_code != GROUND.grid)
    night = _with_community_admin(others, on_duty=frozenset())
    night = Reference(1, night.categories, {}, night.workers, night.assignments,
                      {8: tuple((wd, time(22, 0), time(6, 0)) for wd in range(7))}, None, (0, 0))
    chosen = go(night, MEDICAL, MONDAY_NIGHT)
    assert chosen.worker_id == 8 and "command centre on duty" in chosen.reason
    assert go(night, DISPUTE, MONDAY_NIGHT).worker_id == 9  # a dispute waits for the community admin's morning
