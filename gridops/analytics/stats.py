"""The measures the users already count, per grid, community or street, for a period.

Each is computed in the database by one GROUP BY over the incidents (grouped by
the stable code of the grid an incident was placed in, cut to the level asked
for), so the cost follows the number of areas, not of incidents. The
definitions are in DEFINITIONS and are shown on the dashboard as written here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from geoalchemy2.shape import to_shape
from sqlalchemy import ColumnElement, Float, Row, SQLColumnExpression, and_, case, cast, distinct, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from gridops.geo.geojson import geometry_to_geojson

from gridops.access.policy import GROUND, NONE, Forbidden, Principal
from gridops.boundaries.areas import version_in_force
from gridops.core import clock
from gridops.core.errors import InvalidParameter
from gridops.core.models import Area, AreaLevel, Assignment, Incident, IncidentEvent, Layer, Task, Worker
from gridops.core.spreadsheet import Export, cell
from gridops.incidents.loop import DONE, OPEN

LEVELS = ("grid", "community", "street", "district")
IN_GRID_TIERS = ("grid", "grid_leader")

_Key = ColumnElement[str] | QueryableAttribute[str]  # what incidents are grouped by: a grid's code, or a prefix of it


DEFINITIONS = {
    "reported": "incidents reported in the period (duplicates merged into another are not counted).",
    "by_category": "the reported incidents by category.",
    "closed": "incidents closed (结案) in the period, whenever they were reported.",
    "closure_rate": "结案率: of the incidents reported in the period, the share closed (by the end of the period or now).",
    "on_time_rate": "按期结案率: incidents due in the period and closed by their due time ÷ incidents due in the period.",
    "in_grid_rate": "格内解决率: of the incidents closed in the period, the share closed without leaving the grid — never "
                    "escalated above the grid leader and not handed to a department.",
    "median_hours / p90_hours": "time from report to closure of the incidents closed in the period: median and 90th percentile.",
    "overdue": "incidents still open at the end of the period (or now, if sooner) and past their due time.",
    "rework_rate": "返工率: incidents returned for rework after a resolution, or reopened by their reporter (rated 1–2 or "
                   "\"not fixed\"), in the period ÷ incidents resolved in the period.",
    "satisfaction": "满意率: of the incidents closed in the period that the resident rated, the share rated 4 or 5 stars.",
    "visits": "走访: patrol visits recorded in the period; visits_away: those recorded away from the door, with the reason "
              "given (电话回访, 住院探视 …), counted apart from the ones a position at the door proves.",
    "ranking": "grids ranked by on-time closure rate, then in-grid resolution rate, then satisfaction, then incidents closed; "
               "workers by incidents closed on time, then satisfaction — each incident counted for whoever answered "
               "for it when it was reported: the grid's worker then (by the assignment in force at the report, so a "
               "worker who took the grid over on the 15th answers from the 15th); a department's incident, or one "
               "escalated beyond the grid, counts for the one who held it at the end.",
}


@dataclass(frozen=True)
class StatsQuery:
    level: str = "grid"
    area: str | None = None  # only areas under this code
    since: datetime | None = None
    until: datetime | None = None
    layer: str = "grid"


def month_of(t: datetime, tz: str) -> tuple[datetime, datetime]:
    """The calendar month (city time) containing `t`, as UTC instants."""
    local = t.astimezone(ZoneInfo(tz))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return start.astimezone(UTC), end.astimezone(UTC)


def stats(session: Session, q: StatsQuery, principal: Principal | None, tz: str) -> dict[str, Any]:
    if q.level not in LEVELS:
        raise InvalidParameter("level", f"level must be one of {', '.join(LEVELS)}; got {q.level!r}.", allowed=list(LEVELS))
    if principal is not None:
        if principal.policy.measures == NONE:
            raise Forbidden(f"a {principal.role} does not see the measures.")
        if principal.policy.measures == GROUND and not (q.area and principal.covers(q.area)):
            mine = ", ".join(principal.areas) or "none"
            raise Forbidden(f"choose an area you answer for (`area`: {mine}).")
    since, until = q.since, q.until
    if since is None or until is None:
        since, until = month_of(clock.now(), tz)
    if until <= since:
        raise InvalidParameter("until", "`until` must be after `since`.")
    now = clock.now()
    grid = aliased(Area)
    key = _group_key(session, q.level, grid.code)
    area_filter = [grid.code.like(q.area + "%")] if q.area else []

    def grouped(*cols: SQLColumnExpression[Any], where: Sequence[ColumnElement[bool]] = (),
                joins: Sequence[tuple[type[Any], ColumnElement[bool]]] = ()) -> Sequence[Row[*tuple[Any, ...]]]:
        stmt = select(key.label("key"), *cols).select_from(Incident).join(grid, grid.id == Incident.grid_id)
        for target, on in joins:
            stmt = stmt.join(target, on)
        return session.execute(stmt.where(*area_filter, *where).group_by(key)).all()

    reported = {r.key: r for r in grouped(func.count().label("n"), func.sum(case((Incident.status.in_(DONE), 1), else_=0)).label("done"),
                                          where=[Incident.reported_at >= since, Incident.reported_at < until, Incident.status != "merged"])}
    by_category: dict[str, dict[str, int]] = {}
    stmt = (select(key.label("key"), Incident.category_code, func.count()).select_from(Incident).join(grid, grid.id == Incident.grid_id)
            .where(*area_filter, Incident.reported_at >= since, Incident.reported_at < until, Incident.status != "merged")
            .group_by(key, Incident.category_code))
    for k, cat, n in session.execute(stmt):
        by_category.setdefault(k, {})[cat] = n
    in_grid = and_(Incident.tier.in_(IN_GRID_TIERS), Incident.department_code.is_(None))
    closed_where = [Incident.closed_at >= since, Incident.closed_at < until, Incident.status.in_(DONE)]
    closed = {r.key: r for r in grouped(
        func.count().label("n"),
        func.sum(case((in_grid, 1), else_=0)).label("in_grid"),
        func.sum(case((Incident.rating.is_not(None), 1), else_=0)).label("rated"),
        func.sum(case((Incident.rating >= 4, 1), else_=0)).label("satisfied"),
        where=closed_where)}
    durations = _durations(session, key, grid, area_filter, closed_where)
    due = {r.key: r for r in grouped(
        func.count().label("n"),
        func.sum(case((and_(Incident.closed_at.is_not(None), Incident.closed_at <= Incident.due_at), 1), else_=0)).label("on_time"),
        where=[Incident.due_at >= since, Incident.due_at < until, Incident.status != "merged"])}
    cutoff = min(until, now)
    overdue = {r.key: r.n for r in grouped(func.count().label("n"), where=[
        Incident.status.in_(OPEN), Incident.due_at < cutoff, Incident.merged_into_id.is_(None), Incident.reported_at < until])}
    # 返工: sent back by the verifier, or reopened by the resident (a rating of 1–2, or "not fixed")
    rework = _events(session, key, grid, area_filter, or_(IncidentEvent.action == "return", IncidentEvent.to_status == "reopened"),
                     since, until)
    resolved = _events(session, key, grid, area_filter, IncidentEvent.action == "resolve", since, until)

    visits = _visits(session, q, since, until)

    names = _names(session, q, key)
    keys = sorted(set(names) | set(reported) | set(closed) | set(due))
    rows = []
    for k in keys:
        rep = reported[k].n if k in reported else 0
        c = closed.get(k)
        d = due.get(k)
        ds = durations.get(k, [])
        rows.append({
            "code": k, "name": names.get(k, {}).get("name"), "households": names.get(k, {}).get("households"),
            "reported": rep, "by_category": by_category.get(k, {}),
            "closed": c.n if c else 0, "closure_rate": _rate(int(reported[k].done or 0) if k in reported else 0, rep),
            "reported_closed": int(reported[k].done or 0) if k in reported else 0,
            "due": d.n if d else 0, "closed_on_time": int(d.on_time or 0) if d else 0,
            "on_time_rate": _rate(int(d.on_time or 0), d.n) if d else None,
            "in_grid_rate": _rate(int(c.in_grid or 0), c.n) if c else None,
            "median_hours": round(median(ds), 2) if ds else None, "p90_hours": round(_p90(ds), 2) if ds else None,
            "overdue": overdue.get(k, 0),
            "resolved": resolved.get(k, 0), "rework": rework.get(k, 0), "rework_rate": _rate(rework.get(k, 0), resolved.get(k, 0)),
            "rated": int(c.rated or 0) if c else 0, "satisfaction": _rate(int(c.satisfied or 0), int(c.rated or 0)) if c else None,
            "visits": visits.get(k, (0, 0))[0], "visits_away": visits.get(k, (0, 0))[1],
        })
    return {
        "level": q.level, "area": q.area, "since": since.isoformat(), "until": until.isoformat(),
        "rows": rows, "totals": _totals(rows, durations), "ranking": {
            "grids": _rank_areas(rows) if q.level == "grid" else [],
            "workers": _rank_workers(session, grid, area_filter, closed_where, q.layer),
        },
        "definitions": DEFINITIONS,
    }


# --- pieces ------------------------------------------------------------------------


def _group_key(session: Session, level: str, code: QueryableAttribute[str]) -> _Key:
    """The incident's grid code cut to the level: codes are hierarchical (district 6 digits, street +3, …)."""
    if level == "grid":
        return code
    depth = {lv: (d, digits) for lv, d, digits in session.execute(select(AreaLevel.code, AreaLevel.depth, AreaLevel.code_digits))}
    target = depth[level][0]
    length = sum(digits for lv, (d, digits) in depth.items() if d <= target and d < 10)
    return func.substr(code, 1, length)


def _durations(session: Session, key: _Key, grid: type[Area], area_filter: Sequence[ColumnElement[bool]],
               where: Sequence[ColumnElement[bool]]) -> dict[str, list[float]]:
    """Hours from report to closure per group (the lists: percentiles on either backend)."""
    if session.get_bind().dialect.name == "postgresql":
        hours = func.extract("epoch", Incident.closed_at - Incident.reported_at) / 3600.0
    else:
        hours = (func.julianday(Incident.closed_at) - func.julianday(Incident.reported_at)) * 24.0
    out: dict[str, list[float]] = {}
    stmt = select(key, cast(hours, Float)).select_from(Incident).join(grid, grid.id == Incident.grid_id).where(*area_filter, *where)
    for k, h in session.execute(stmt):
        out.setdefault(k, []).append(float(h))
    return out


def _events(session: Session, key: _Key, grid: type[Area], area_filter: Sequence[ColumnElement[bool]],
            which: ColumnElement[bool], since: datetime, until: datetime) -> dict[str, int]:
    stmt = (select(key, func.count(distinct(IncidentEvent.incident_id))).select_from(IncidentEvent)
            .join(Incident, Incident.id == IncidentEvent.incident_id).join(grid, grid.id == Incident.grid_id)
            .where(*area_filter, which, IncidentEvent.at >= since, IncidentEvent.at < until).group_by(key))
    return dict(session.execute(stmt).all())


def cast_str(column: QueryableAttribute[str | None]) -> QueryableAttribute[str]:
    return column  # type: ignore[return-value]  # a nullable column where the rows read are never null


def _visits(session: Session, q: StatsQuery, since: datetime, until: datetime) -> dict[str, tuple[int, int]]:
    """Patrol visits (走访) done in the period per area: all, and those recorded away from the door with a reason."""
    key = _group_key(session, q.level, cast_str(Task.area_code))  # patrol tasks always carry their grid
    stmt = (select(key, func.count(), func.sum(case((Task.away_reason.is_not(None), 1), else_=0))).select_from(Task)
            .where(Task.kind == "patrol", Task.status == "done", Task.completed_at >= since, Task.completed_at < until,
                   *([Task.area_code.like(q.area + "%")] if q.area else []))
            .group_by(key))
    return {k: (n, int(away or 0)) for k, n, away in session.execute(stmt) if k is not None}


def _names(session: Session, q: StatsQuery, key: _Key) -> dict[str, dict[str, Any]]:
    version = version_in_force(session, q.layer)
    if version is None:
        return {}
    stmt = select(Area.code, Area.name, Area.households).where(Area.version_id == version.id, Area.level == q.level)
    if q.area:
        stmt = stmt.where(Area.code.like(q.area + "%"))
    return {c: {"name": n, "households": h} for c, n, h in session.execute(stmt)}


def _rate(part: int, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole else None


def _p90(values: list[float]) -> float:
    s = sorted(values)
    k = 0.9 * (len(s) - 1)
    lo = int(k)
    return s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (k - lo)


def _totals(rows: list[dict[str, Any]], durations: dict[str, list[float]]) -> dict[str, Any]:
    def total(name: str) -> int:
        return sum(r[name] or 0 for r in rows)

    closed = total("closed")
    in_grid = sum(round((r["in_grid_rate"] or 0) * r["closed"]) for r in rows)
    satisfied = sum(round((r["satisfaction"] or 0) * r["rated"]) for r in rows)
    allds = [h for ds in durations.values() for h in ds]
    return {"reported": total("reported"), "closed": closed, "closure_rate": _rate(total("reported_closed"), total("reported")),
            "due": total("due"), "closed_on_time": total("closed_on_time"), "on_time_rate": _rate(total("closed_on_time"), total("due")),
            "in_grid_rate": _rate(in_grid, closed), "median_hours": round(median(allds), 2) if allds else None,
            "p90_hours": round(_p90(allds), 2) if allds else None, "overdue": total("overdue"), "resolved": total("resolved"),
            "rework": total("rework"), "rework_rate": _rate(total("rework"), total("resolved")), "rated": total("rated"),
            "satisfaction": _rate(satisfied, total("rated")), "visits": total("visits"), "visits_away": total("visits_away")}


def _rank_areas(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    scored = [r for r in rows if r["due"] or r["closed"]]
    scored.sort(key=lambda r: (-(r["on_time_rate"] or 0), -(r["in_grid_rate"] or 0), -(r["satisfaction"] or 0), -r["closed"], r["code"]))
    return [{"rank": k + 1, "code": r["code"], "name": r["name"], "on_time_rate": r["on_time_rate"], "in_grid_rate": r["in_grid_rate"],
             "satisfaction": r["satisfaction"], "closed": r["closed"]} for k, r in enumerate(scored)]


def _rank_workers(session: Session, grid: type[Area], area_filter: Sequence[ColumnElement[bool]],
                  closed_where: Sequence[ColumnElement[bool]], layer: str) -> list[dict[str, Any]]:
    on_time = func.sum(case((Incident.closed_at <= Incident.due_at, 1), else_=0))
    # the grid's worker when it was reported (the latest-starting of the primaries then in force)
    then = (select(Assignment.worker_id).where(
        Assignment.layer_id == select(Layer.id).where(Layer.code == layer).scalar_subquery(),
        Assignment.area_code == grid.code, Assignment.duty == "primary", Assignment.in_force(Incident.reported_at))
        .order_by(Assignment.valid_from.desc(), Assignment.id.desc()).limit(1).correlate(Incident, grid).scalar_subquery())
    at_the_grid = (Incident.tier == "grid") & Incident.department_code.is_(None)
    answerer = case((at_the_grid, func.coalesce(then, Incident.assignee_id)), else_=Incident.assignee_id)
    stmt = (select(Worker.code, Worker.name, Worker.role, func.count(), on_time,
                   func.sum(case((Incident.rating.is_not(None), 1), else_=0)), func.sum(case((Incident.rating >= 4, 1), else_=0)))
            .select_from(Incident).join(grid, grid.id == Incident.grid_id).join(Worker, Worker.id == answerer)
            .where(*area_filter, *closed_where).group_by(Worker.code, Worker.name, Worker.role))
    out = []
    for code, name, role, n, ot, rated, sat in session.execute(stmt):
        out.append({"code": code, "name": name, "role": role, "closed": n, "closed_on_time": int(ot or 0),
                    "on_time_rate": _rate(int(ot or 0), n), "satisfaction": _rate(int(sat or 0), int(rated or 0))})
    out.sort(key=lambda w: (-w["closed_on_time"], -(w["satisfaction"] or 0), w["code"]))
    for k, w in enumerate(out):
        w["rank"] = k + 1
    return out


# --- exports -------------------------------------------------------------------------

CSV_COLUMNS = ["code", "name", "households", "reported", "closed", "closure_rate", "due", "closed_on_time", "on_time_rate",
               "in_grid_rate", "median_hours", "p90_hours", "overdue", "resolved", "rework", "rework_rate", "rated", "satisfaction",
               "visits", "visits_away"]


def as_csv(result: dict[str, Any]) -> str:
    cats = sorted({c for r in result["rows"] for c in r["by_category"]})
    out = io.StringIO()
    w = csv.writer(out, dialect=Export)
    w.writerow(CSV_COLUMNS + [f"category:{c}" for c in cats])
    for r in result["rows"]:
        w.writerow([cell(r[c]) for c in CSV_COLUMNS] + [r["by_category"].get(c, 0) for c in cats])
    return out.getvalue()


def as_geojson(session: Session, result: dict[str, Any], layer: str) -> dict[str, Any]:
    version = version_in_force(session, layer)
    shapes = {}
    if version is not None:
        codes = [r["code"] for r in result["rows"]]
        for code, geom in session.execute(select(Area.code, Area.geom).where(Area.version_id == version.id, Area.code.in_(codes))):
            shapes[code] = geometry_to_geojson(to_shape(geom), 6)
    return {"type": "FeatureCollection", "level": result["level"], "since": result["since"], "until": result["until"],
            "features": [{"type": "Feature", "id": r["code"], "geometry": shapes.get(r["code"]), "properties": r} for r in result["rows"]]}
