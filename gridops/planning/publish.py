"""Publishing a draft: it becomes the next boundary version of its layer, effective at the
planner's chosen time, with every other community carried over. Open incidents stay with
their assignee until closed (their history says so); patrol visits due from the effective
time go to their door's new grid and its worker; workers of retired grids stop answering
for them at that time; the geocoder switches to the new version then
(gridops.boundaries.registry)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.plan import as_multipolygon
from gridops.geo.validate import AreaRecord, validate_tree

from gridops.access.policy import Principal
from gridops.boundaries.areas import version_in_force
from gridops.boundaries.levels import level_rules
from gridops.boundaries.versions import ImportRefused, store_version, version_records
from gridops.core import clock
from gridops.core.errors import Conflict, GridopsError
from gridops.core.models import Assignment, Incident, Layer, Task, Worker
from gridops.core.words import Say
from gridops.incidents.context import Context
from gridops.incidents.events import record
from gridops.planning.drafts import answer, checks_of, current, draft_row, layer_code
from gridops.planning.impact import impact, uncovered_of


class GridsUncovered(Conflict):
    """Publishing would leave grids with nobody answering for them, and the planner neither named a worker for each
    nor accepted it by name: `report.uncovered` lists them, with their households."""

    slug = "grids-uncovered"


class StaffingRefused(GridopsError):
    """A worker named for a grid, or a grid accepted as uncovered, that cannot be: the grid is not the plan's, or no
    active worker has that code (`field` says which list, `value` what was sent)."""

    slug = "staffing-refused"


class Staffing(Protocol):
    """The people register's part in a publication, handed in by the adapter (planning does not reach into the
    registers): each change it makes is that register's own, checked and in the audit trail."""

    def assign(self, grid: str, code: str, start: datetime) -> None:
        """Worker `code` answers for `grid` of the new version from `start`."""

    def retire(self, layer_id: int, area: str, at: datetime) -> int:
        """The assignments to `area`, a grid the version retires, end at `at`; how many ended."""


def publish_draft(session: Session, ctx: Context, draft_id: int, principal: Principal | None, effective: datetime | None = None,
                  accept_warnings: bool = False, supersede: bool = False, *, accept_uncovered: Collection[str] = (),
                  workers: Mapping[str, str] | None = None, staffing: Staffing) -> dict[str, Any]:
    """The draft becomes the next version of its layer from `effective` (default now); all or nothing.

    A draft whose checks find anything (a grid out of bounds, in pieces,
    ragged; a tower no plan can fit) is published only when the planner says
    so, as with a boundary file's warnings. A grid nobody would answer for
    from `effective` needs a worker named for it (`workers`: grid -> 工号,
    assigned as its grid worker from then) or to be listed in `accept_uncovered`:
    no grid is left without a responsible person by accident.
    """
    draft = draft_row(session, draft_id, editable=True)
    given, effective = effective, effective or clock.now()
    layer = layer_code(session, draft)
    com, plan, settings = current(session, draft)
    checks = checks_of(com, plan, settings)
    if checks and not accept_warnings:
        raise ImportRefused(
            Say("plan draft %(draft_id)s has %(n_checks)s finding(s) and accept_warnings was not given; nothing was "
                "published. First: %(checks)s",
                draft_id=draft_id, n_checks=len(checks), checks=checks[0]['message']), report={"warnings": checks[:50]})
    base = version_in_force(session, layer, effective)
    if base is None or base.id != com.version_id:
        raise Conflict(Say("the version in force at %(value)s is not the one this draft was checked against; make a new "
                           "draft from it.",
                           value=effective.isoformat()))
    records = [r for r in version_records(session, base.id)
               if not (r.code.startswith(com.code) and r.level in ("grid", "micro_grid"))]
    records += [AreaRecord(a.code, com.name_of(a.code), a.level, a.parent_code, a.households, as_multipolygon(a.geometry))
                for a in plan.grids + plan.micro_grids]
    for r in records:
        if r.code == com.code:
            r.households = sum(a.households for a in plan.grids)
    findings = [f for f in validate_tree(records, level_rules(session), 1.0) if f.severity == "error"]
    if findings:
        raise ImportRefused(Say("plan draft %(draft_id)s: %(n_findings)s error(s); nothing was published. First: %(message)s",
                                draft_id=draft_id, n_findings=len(findings), message=findings[0].message),
                            report={"errors": [f.as_json() for f in findings[:50]]})
    effect = impact(session, com, plan, settings.digits[0])
    named = dict(workers or {})
    _check_coverage(session, com.layer_id, [a.code for a in plan.grids], {a.code: a.households for a in plan.grids},
                    effective, named, set(accept_uncovered), {a.code: com.name_of(a.code) for a in plan.grids})
    version = store_version(session, records, layer, effective=given, source=f"plan draft {draft_id}",
                            note=f"community {com.code} redrawn: {len(plan.grids)} grids, {len(plan.micro_grids)} micro-grids",
                            created_by=principal.name if principal else "cli", supersede=supersede)
    effective = version.effective_from
    at = clock.now()
    number = version.number
    # open incidents stay with their assignee until closed; their history says what changed
    for item in effect["open_incidents"]:
        incident = session.get(Incident, int(item["id"]))
        assert incident is not None  # impact() found it in this transaction
        holder = item["assignee"] or "its current handler"
        record(session, incident, "comment", None, principal, at=at,
               note=f"boundaries {layer} v{number} from {effective.isoformat()}: this place is now in grid {item['to']}; "
                    f"the incident stays with {holder} until closed.",
               data={"regrid": {"from": item["from"], "to": item["to"], "version": number}})
    # patrol visits from the effective time go to their door's new grid and its visitor
    moved_visits = 0
    for item in effect["patrol_visits"]:
        task = session.get(Task, item["task"])
        assert task is not None  # impact() found it in this transaction
        if task.scheduled_for is not None and task.scheduled_for < effective:
            continue
        task.area_code = item["to"]
        visitor = _visitor_of(session, layer, item["to"], effective)
        if visitor is not None:
            task.worker_id = visitor
        moved_visits += 1
    # the workers of retired grids stop answering for them at the effective time
    ended = sum(staffing.retire(com.layer_id, area, effective)
                for area in sorted({w["area"] for w in effect["workers"] if w["change"] == "retired"}))
    for grid, code in sorted(named.items()):
        staffing.assign(grid, code, effective)
    draft.status = "published"
    draft.published_version_id = version.id
    draft.updated_at = at
    session.flush()
    out = answer(session, draft, com, plan, settings, checks, effect)  # what was checked and moved, as it stood
    out["published"] = {"layer": layer, "version": number, "effective_from": effective.isoformat(),
                        "incidents_noted": len(effect["open_incidents"]), "patrol_visits_moved": moved_visits,
                        "assignments_ended": ended, "workers_named": named, "accepted_uncovered": sorted(accept_uncovered)}
    return out


def _check_coverage(session: Session, layer_id: int, grids: list[str], households: dict[str, int], at: datetime,
                    named: dict[str, str], accepted: set[str], names: Mapping[str, str]) -> None:
    """Refuse a plan that would leave a grid with nobody answering for it, unless the planner named a worker for
    it or accepted it by name. Whoever may publish the plan may staff its grids: the people register records each
    assignment with the publisher's name (the right to publish is the right to end the retired grids' ones too)."""
    for field_name, sent in (("workers", sorted(set(named) - set(grids))), ("accept_uncovered", sorted(accepted - set(grids)))):
        if sent:
            raise StaffingRefused(Say("%(grid)s is not a grid of this plan.", grid=sent[0]), field=field_name, value=sent[0])
    if named:
        active = dict(session.execute(select(Worker.code, Worker.active).where(Worker.code.in_(set(named.values())))).all())
        for grid, code in sorted(named.items()):
            if not active.get(code):
                raise StaffingRefused(Say("No active worker has the code %(code)s: choose another for %(grid)s.", code=code,
                                          grid=names.get(grid, grid)), field="workers", value=code, grid=grid)
    left = [g for g in uncovered_of(session, layer_id, grids, at) if g not in named and g not in accepted]
    if left:
        shown = [names.get(g, g) for g in left]
        raise GridsUncovered(
            Say("Publishing would leave %(n)s grid(s) with nobody answering for them: %(grids)s. Choose a worker for "
                "each, or accept it as uncovered. Nothing was published.",
                n=len(left), grids=shown[:10] if len(left) <= 10 else [*shown[:10], "…"]),
            report={"uncovered": [{"grid": g, "name": names.get(g, g), "households": households.get(g, 0)} for g in left]})


def _visitor_of(session: Session, layer: str, grid: str, at: datetime) -> int | None:
    for duty in ("primary", "backup", "leader"):
        found = session.scalar(
            select(Assignment.worker_id).join(Layer, Layer.id == Assignment.layer_id)
            .where(Layer.code == layer, Assignment.area_code == grid, Assignment.duty == duty,
                   Assignment.in_force(at)).limit(1))
        if found is not None:
            return found
    return None
