"""Who answers for it (分格发令，部门执行): the person a report goes to, and why.

A grid-team report goes to the grid's own worker on shift; else its backup on
shift; else its grid leader on shift; else the nearest worker of the community
who is on shift (along the streets where the network is loaded); among equals,
the one with the least open work. A department's report goes to that
department's staff on shift. With nobody on shift it still goes to the person
who answers for the ground, and the reason says they are off shift — except a
critical one (a medical request, 2 hours to close the loop), which goes to the
command centre's supervisor on duty rather than wait for the morning. Every
decision carries its reason, so staff can see why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridops.geo.crs import distances_m

from gridops.core.models import Incident, Worker
from gridops.core.shapes import to_point
from gridops.incidents.loop import OPEN
from gridops.reference.data import CategoryRef, Reference

# where the workers a report may go to are: (worker id, lon, lat) of those with a known position
Positions = Callable[[list[int]], list[tuple[int, float, float]]]


@dataclass(frozen=True)
class Route:
    worker_id: int | None
    reason: str
    tier: str
    department_code: str | None = None


@dataclass(frozen=True)
class Ground:
    """The areas a report lies in: its grid and the codes above it."""

    grid: str
    community: str | None
    street: str | None


def ground_of(grid_code: str, ancestors: dict[str, str]) -> Ground:
    return Ground(grid_code, ancestors.get("community"), ancestors.get("street"))


def open_work(session: Session, worker_ids: list[int]) -> dict[int, int]:
    rows = session.connection().execute(  # Core: nothing here needs the ORM
        select(Incident.assignee_id, func.count(Incident.id))
        .where(Incident.assignee_id.in_(worker_ids), Incident.status.in_(OPEN))
        .group_by(Incident.assignee_id)
    ).all()
    counts = dict.fromkeys(worker_ids, 0)
    counts.update({wid: n for wid, n in rows if wid is not None})  # `is not None` for the type: the IN above leaves no None
    return counts


def last_positions(session: Session) -> Positions:
    """Where each worker was last seen, read from the database when routing asks."""

    def positions(worker_ids: list[int]) -> list[tuple[int, float, float]]:
        rows = session.execute(select(Worker.id, Worker.last_position)
                               .where(Worker.id.in_(worker_ids), Worker.last_position.is_not(None))).all()
        # `pos is not None` for the type: the WHERE above leaves no None
        return [(wid, p.x, p.y) for wid, p in ((wid, to_point(pos)) for wid, pos in rows if pos is not None)]

    return positions


class WorkLoad:
    """Open work per worker, read once per transaction and kept current as work is handed out
    in it — so a batch of reports spreads over equals as if they had come one by one.

    `count` reads the stored open work of some workers (open_work on a session, or a dict in a test)."""

    def __init__(self, count: Callable[[list[int]], dict[int, int]]) -> None:
        self._count = count
        self._stored: dict[int, int] = {}
        self._handed: dict[int, int] = {}  # given out in this transaction, not yet in the table

    @classmethod
    def stored(cls, session: Session) -> WorkLoad:
        return cls(lambda ids: open_work(session, ids))

    def prefetch(self, worker_ids: set[int]) -> None:
        """Read the open work of everyone a batch may go to, in one query."""
        missing = [w for w in worker_ids if w not in self._stored]
        if missing:
            self._stored.update(self._count(missing))

    def of(self, worker_ids: list[int]) -> dict[int, int]:
        missing = [w for w in worker_ids if w not in self._stored]
        if missing:
            self._stored.update(self._count(missing))
        return {w: self._stored[w] + self._handed.get(w, 0) for w in worker_ids}

    def hand(self, worker_id: int | None) -> None:
        if worker_id is not None:
            self._handed[worker_id] = self._handed.get(worker_id, 0) + 1


# --- choosing ----------------------------------------------------------------


def _least_loaded(load: WorkLoad, candidates: list[int]) -> int:
    counts = load.of(candidates)
    return min(candidates, key=lambda w: (counts[w], w))


def route(
    ref: Reference,
    category: CategoryRef,
    ground: Ground,
    at: datetime,
    *,
    tz: str,
    lon: float,
    lat: float,
    load: WorkLoad,
    positions: Positions,
    layer: str = "grid",
    tier: str = "grid",
    exclude: Iterable[int] = (),
) -> Route:
    """The person for a report at `tier` of the ladder, and the reason: the rule chain on plain data
    (the reference data, the open work and the workers' positions are handed in)."""
    exclude = set(exclude)

    def pick(ids: list[int], reason: str, require_shift: bool = True) -> Route | None:
        ids = [w for w in ids if w not in exclude]
        if require_shift:
            ids = sorted(ref.on_shift(ids, at, tz))
        if not ids:
            return None
        return Route(_least_loaded(load, ids), reason, tier)

    if category.handler == "department" or tier == "district":
        dept = category.department_code
        staff = ref.staff("department_staff", dept) if dept else []
        if staff:
            found = (pick(staff, f"department {dept}: staff on shift")
                     or pick(staff, f"department {dept}: nobody on shift, least loaded", False))
            if found:
                return Route(found.worker_id, found.reason, "district", dept)
        supervisors = ref.staff("supervisor")
        found = pick(supervisors, "district: command centre on shift") or pick(supervisors, "district: command centre", False)
        return Route(found.worker_id if found else None, found.reason if found else "nobody to take it at the district", "district", dept)

    if tier == "grid":
        primary = ref.assigned(layer, [ground.grid], ("primary",), at)
        backup = ref.assigned(layer, [ground.grid], ("backup",), at)

        def why(passed: list[int]) -> str:  # why the people tried first were passed over
            return "declined" if passed and all(w in exclude for w in passed) else "off shift"

        leaders = ref.assigned(layer, [ground.grid], ("leader",), at)
        for ids, reason in (
            (primary, "grid worker on shift"),
            (backup, f"backup: primary {why(primary)}"),
            (leaders, f"grid leader: grid workers {why(primary + backup)}"),
        ):
            found = pick(ids, reason)
            if found:
                return found
        # 小事不出网格: a grid nobody answers for (a worker left, a new grid) is its community admin's, who
        # must see that it is uncovered, not a neighbour's worker's
        admins = ref.assigned(layer, [ground.community], ("primary",), at) if ground.community else []
        if not (primary or backup or leaders):
            found = pick(admins, f"no grid worker or leader for grid {ground.grid}: the community admin on shift")
            if found is None and category.urgency != "critical":  # a critical one goes to whoever is on duty, below
                found = pick(admins, f"no grid worker or leader for grid {ground.grid}: the community admin (off shift)", False)
            if found:
                return found
        nearest = _nearest_in_community(ref, load, positions, layer, ground, at, tz, lon, lat, exclude)
        if nearest:
            return nearest
        if category.urgency == "critical":  # a 2-hour request cannot wait for the morning shift
            duty = pick(ref.staff("supervisor"), "critical and nobody on shift in the community: the command centre on duty")
            if duty:
                return Route(duty.worker_id, duty.reason, "district")
        found = (pick(primary, "nobody on shift: the grid's own worker", False)
                 or pick(backup, f"nobody on shift: the grid's backup (primary {why(primary)})", False)
                 or pick(leaders, f"nobody on shift: the grid leader (grid workers {why(primary + backup)})", False)
                 or pick(admins, f"grid {ground.grid}'s workers and leader declined: the community admin", False))
        return found or Route(None, f"nobody answers for grid {ground.grid} or its community", tier)

    by_tier: dict[str, list[str | None]] = {"grid_leader": [ground.grid], "community": [ground.community], "street": [ground.street]}
    codes = by_tier[tier]
    duties = ("leader",) if tier == "grid_leader" else ("primary",)
    ids = ref.assigned(layer, [c for c in codes if c], duties, at)
    label = {"grid_leader": "grid leader", "community": "community staff", "street": "street staff"}[tier]
    found = pick(ids, f"escalated to the {label} on shift") or pick(ids, f"escalated to the {label} (off shift)", False)
    return found or Route(None, f"nobody answers at the {tier} tier", tier)


def _nearest_in_community(
    ref: Reference, load: WorkLoad, positions: Positions, layer: str, ground: Ground, at: datetime, tz: str, lon: float,
    lat: float, exclude: set[int],
) -> Route | None:
    if not ground.community:
        return None
    ids = ref.assigned_under(layer, ground.community, at)
    candidates = sorted(ref.on_shift([w for w in ids if w not in exclude], at, tz))
    rows = positions(candidates) if candidates else []
    if not rows:
        return None
    places = [(x, y) for _, x, y in rows]
    if ref.network is not None:
        dist = ref.network.distances_from(lon, lat, places)
        how = "along the streets"
    else:
        dist = list(distances_m(lon, lat, [p[0] for p in places], [p[1] for p in places]))
        how = "straight"
    counts = load.of([wid for wid, _, _ in rows])
    best = min(range(len(rows)), key=lambda k: (round(dist[k]), counts[rows[k][0]], rows[k][0]))
    if dist[best] == float("inf"):
        return None
    return Route(rows[best][0], f"nearest on shift in the community: {dist[best]:,.0f} m {how}", "grid")
