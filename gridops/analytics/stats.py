"""The measures the users already count, per grid, community or street, for a period.

Each is computed in the database by one GROUP BY over the incidents (grouped by
the stable code of the grid an incident was placed in, cut to the level asked
for), so the cost follows the number of areas, not of incidents. The
definitions are in DEFINITIONS and are shown on the dashboard as written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from geoalchemy2.shape import to_shape
from sqlalchemy import ColumnElement, Float, Row, SQLColumnExpression, and_, case, cast, distinct, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from gridops.geo.geojson import geometry_to_geojson

from gridops.access.policy import GROUND, NONE, Forbidden, Principal, role_term
from gridops.boundaries.areas import version_in_force
from gridops.core import clock
from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import Area, AreaLevel, Assignment, Category, Incident, IncidentEvent, Layer, Task, Worker
from gridops.core.words import Say
from gridops.incidents.loop import DONE, OPEN

LEVELS = ("grid", "community", "street", "district")
IN_GRID_TIERS = ("grid", "grid_leader")

_Key = ColumnElement[str] | QueryableAttribute[str]  # what incidents are grouped by: a grid's code, or a prefix of it


def N_(text: str) -> str:
    """Marks a definition for the pages' catalogues (gettext_noop): the API gives it in English, a page translates it."""
    return text


DEFINITIONS = {
    "reported": N_("Reported: incidents reported in the period (duplicates merged into another are not counted)."),
    "by_category": N_("By category: the reported incidents by category."),
    "closed": N_("Closed: incidents closed in the period, whenever they were reported."),
    "closure_rate": N_("Closure rate: of the incidents reported in the period, the share closed (by the end of the period or now)."),
    "on_time_rate": N_("On-time closure rate: incidents due in the period and closed by their due time ÷ incidents due in the period."),
    "in_grid_rate": N_("In-grid resolution rate: of the incidents closed in the period, the share closed without leaving the grid — "
                       "never escalated above the grid leader and not handed to a department."),
    "median_hours / p90_hours": N_("Hours to close: time from report to closure of the incidents closed in the period, median and "
                                   "90th percentile."),
    "overdue": N_("Overdue: incidents still open at the end of the period (or now, if sooner) and past their due time then."),
    "rework_rate": N_("Rework rate: incidents returned for rework after a resolution, or reopened by their reporter (rated 1–2 or "
                      "\"not fixed\"), in the period ÷ incidents resolved in the period."),
    "satisfaction": N_("Satisfaction rate: of the incidents closed in the period that the resident rated, the share rated 4 or 5 stars."),
    "proactive_rate": N_("Proactive discovery rate: of the incidents reported in the period, the share found by the grid's own "
                         "people — reported through the patrol channel, or by a signed-in grid worker or grid leader — rather "
                         "than reported by residents, the hotline or a department."),
    "visits": N_("Visits: patrol visits recorded in the period; away from the door: those recorded with a reason (a phone call, "
                 "a visit in hospital …), counted apart from the ones a position at the door proves."),
    "ranking": N_("Ranking: grids by on-time closure rate, then in-grid resolution rate, then satisfaction, then incidents closed; "
                  "workers by incidents closed on time, then satisfaction — each incident counted for whoever answered for it "
                  "when it was reported: the grid's worker then (by the assignment in force at the report, so a worker who took "
                  "the grid over on the 15th answers from the 15th); a department's incident, or one escalated beyond the grid, "
                  "counts for the one who held it at the end."),
    "trend": N_("Trend: each measure against the previous period of the same length (the previous calendar month for a month): "
                "▲ up, ▼ down, and by how much (rates in percentage points)."),
}

# 主动发现: the channels and the reporters that mean the grid's own people found it (the one definition; the
# dashboard, the big screen and the exports count with found_on_patrol())
PATROL_CHANNELS = ("patrol",)
FIELD_ROLES = ("grid_worker", "grid_leader")  # the grid's own people (worker roles)
GRID_TEAM = ("grid_worker", "grid_leader")  # worker roles measured as the grid's team; the rest as department and other staff

# measure -> (higher is better?, green from, amber from): the flags the dashboard, the screen and the exports colour by
FLAGS: dict[str, tuple[bool, float, float]] = {
    "on_time_rate": (True, 0.90, 0.75),
    "in_grid_rate": (True, 0.90, 0.75),
    "satisfaction": (True, 0.90, 0.80),
    "proactive_rate": (True, 0.30, 0.15),
    "overdue": (False, 0, 2),
}
# the measures whose change against the previous period is given (row["trend"])
TREND = ("reported", "closed", "closure_rate", "on_time_rate", "in_grid_rate", "median_hours", "overdue", "rework_rate",
         "satisfaction", "proactive", "proactive_rate", "visits")
WORKER_TREND = ("closed", "closed_on_time", "on_time_rate", "satisfaction")


def found_on_patrol() -> ColumnElement[bool]:
    """An incident the grid's own people found (主动发现): reported through the patrol channel, or reported by a grid
    worker or grid leader (the report's event names them) through any channel."""
    by_the_grid = (select(IncidentEvent.id).join(Worker, Worker.id == IncidentEvent.actor_id)
                   .where(IncidentEvent.incident_id == Incident.id, IncidentEvent.action == "report", Worker.role.in_(FIELD_ROLES))
                   .correlate(Incident).exists())
    return or_(Incident.channel.in_(PATROL_CHANNELS), by_the_grid)


def flag(measure: str, value: float | None) -> str | None:
    """green, amber or red for a measure's value by FLAGS; None where it is not flagged or there is no value."""
    if value is None or measure not in FLAGS:
        return None
    higher, green, amber = FLAGS[measure]
    if higher:
        return "green" if value >= green else "amber" if value >= amber else "red"
    return "green" if value <= green else "amber" if value <= amber else "red"


def flags(row: dict[str, Any]) -> dict[str, str]:
    return {m: f for m in FLAGS if m in row and (f := flag(m, row[m])) is not None}


def previous_period(since: datetime, until: datetime, tz: str) -> tuple[datetime, datetime]:
    """The period a trend is measured against: the previous calendar month for a calendar month, else the same length
    just before."""
    zone = ZoneInfo(tz)
    local = since.astimezone(zone)
    if month_of(since, tz) == (since, until):
        start = (local.replace(day=1) - timedelta(days=1)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return start.astimezone(UTC), since
    return since - (until - since), since


def _change(now: Any, then: Any) -> float | None:
    if now is None or then is None:
        return None
    return round(now - then, 4)


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


def stats(session: Session, q: StatsQuery, principal: Principal | None, tz: str, *, trend: bool = True) -> dict[str, Any]:
    """The measures per area of the level for the period, each row with its flags (FLAGS) and, with `trend`, its
    change against the previous period (previous_period); the workers alike; the period's days for a chart."""
    if q.level not in LEVELS:
        raise InvalidParameter("level", Say("level must be one of %(levels)s; got %(level)r.",
                                            levels=', '.join(LEVELS), level=q.level), allowed=list(LEVELS))
    if principal is not None:
        if principal.policy.measures == NONE:
            raise Forbidden(Say("a %(role)s does not see the measures.", role=role_term(principal.role)))
        if principal.policy.measures == GROUND and not (q.area and principal.covers(q.area)):
            mine = ", ".join(principal.areas) or "none"
            raise Forbidden(Say("choose an area you answer for (`area`: %(mine)s).", mine=mine))
    since, until = q.since, q.until
    if since is None or until is None:
        since, until = month_of(clock.now(), tz)
    if until <= since:
        raise InvalidParameter("until", Say("`until` must be after `since`."))
    area = area_named(session, q.layer, q.area) if q.area else None
    now = clock.now()
    rows, totals, grids, workers = _measure(session, q, since, until, now)
    result: dict[str, Any] = {
        "level": q.level, "area": q.area, "area_name": area["name"] if area else None,
        "since": since.isoformat(), "until": until.isoformat(),
        "rows": rows, "totals": totals, "ranking": {"grids": grids, "workers": workers},
        "categories": _category_names(session, rows), "daily": daily(session, q, since, until, tz),
        "definitions": DEFINITIONS, "thresholds": {m: {"higher_is_better": h, "green": g, "amber": a} for m, (h, g, a) in FLAGS.items()},
    }
    for r in [*rows, totals, *grids]:
        r["flags"] = flags(r)
    for w in workers:
        w["flags"] = flags(w)
        w["team"] = "grid" if w["role"] in GRID_TEAM else "staff"
    if trend:
        before, after = previous_period(since, until, tz)
        p_rows, p_totals, _, p_workers = _measure(session, q, before, after, now)
        result["previous"] = {"since": before.isoformat(), "until": after.isoformat()}
        by_code = {r["code"]: r for r in p_rows}
        for r in rows:
            _trend(r, by_code.get(r["code"]), TREND)
        _trend(totals, p_totals, TREND)
        w_by_code = {w["code"]: w for w in p_workers}
        for w in workers:
            _trend(w, w_by_code.get(w["code"]), WORKER_TREND)
    return result


def _trend(row: dict[str, Any], before: dict[str, Any] | None, measures: Sequence[str]) -> None:
    row["previous"] = {m: before.get(m) for m in measures} if before else {}
    row["trend"] = {m: _change(row.get(m), before.get(m)) for m in measures} if before else {}


def area_named(session: Session, layer: str, code: str) -> dict[str, Any]:
    """The area with this code in the boundaries in force (any level), or NotFound saying so."""
    version = version_in_force(session, layer)
    found = None if version is None else session.execute(
        select(Area.code, Area.name, Area.level).where(Area.version_id == version.id, Area.code == code)).first()
    if found is None:
        raise NotFound(Say("no area has the code %(code)r in the boundaries in force.", code=code), area=code)
    return {"code": found.code, "name": found.name, "level": found.level}


def area_choices(session: Session, layer: str, under: Sequence[str] | None = None) -> list[dict[str, str]]:
    """The measured areas (streets, communities, grids) of the boundaries in force, by name, for a chooser; only those
    under the codes given (a user's ground), if given."""
    version = version_in_force(session, layer)
    if version is None:
        return []
    stmt = select(Area.code, Area.name, Area.level).where(Area.version_id == version.id, Area.level.in_(LEVELS))
    if under is not None:
        stmt = stmt.where(or_(*[Area.code.like(c + "%") for c in under])) if under else stmt.where(Area.id.is_(None))
    return [{"code": c, "name": n, "level": lv} for c, n, lv in session.execute(stmt.order_by(Area.code))]


def levels_from(session: Session, level: str | None) -> list[str]:
    """The measured levels (LEVELS) the city has, from the top down, at and below `level` (all for None): the sheets
    of an export of that area."""
    depth = dict(session.execute(select(AreaLevel.code, AreaLevel.depth)).all())
    top = depth.get(level, -1) if level else -1
    return sorted((lv for lv in LEVELS if lv in depth and depth[lv] >= top), key=lambda lv: depth[lv])


def _category_names(session: Session, rows: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    codes = sorted({c for r in rows for c in r["by_category"]})
    if not codes:
        return {}
    found = {c: {"name": n, "name_en": e} for c, n, e in session.execute(
        select(Category.code, Category.name, Category.name_en).where(Category.code.in_(codes)))}
    return {c: found.get(c, {"name": c, "name_en": c}) for c in codes}


def _measure(session: Session, q: StatsQuery, since: datetime, until: datetime,
             now: datetime) -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows, the totals, the grids' and the workers' rankings of one period."""
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
                                          func.sum(case((found_on_patrol(), 1), else_=0)).label("proactive"),
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
    # open at the cutoff: open now, or closed since (a reopening in between is not seen)
    open_then = or_(Incident.status.in_(OPEN), and_(Incident.status.in_(DONE), Incident.closed_at > cutoff))
    overdue = {r.key: r.n for r in grouped(func.count().label("n"), where=[
        open_then, Incident.due_at < cutoff, Incident.merged_into_id.is_(None), Incident.reported_at < cutoff])}
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
            "proactive": int(reported[k].proactive or 0) if k in reported else 0,
            "proactive_rate": _rate(int(reported[k].proactive or 0), rep) if k in reported else None,
        })
    grids = _rank_areas(rows) if q.level == "grid" else []
    return rows, _totals(rows, durations), grids, _rank_workers(session, grid, area_filter, closed_where, q.layer)


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
            "satisfaction": _rate(satisfied, total("rated")), "visits": total("visits"), "visits_away": total("visits_away"),
            "proactive": total("proactive"), "proactive_rate": _rate(total("proactive"), total("reported"))}


def _rank_areas(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    scored = [r for r in rows if r["due"] or r["closed"]]
    scored.sort(key=lambda r: (-(r["on_time_rate"] or 0), -(r["in_grid_rate"] or 0), -(r["satisfaction"] or 0), -r["closed"], r["code"]))
    return [{"rank": k + 1, "code": r["code"], "name": r["name"], "on_time_rate": r["on_time_rate"], "in_grid_rate": r["in_grid_rate"],
             "satisfaction": r["satisfaction"], "closed": r["closed"], "overdue": r["overdue"], "reported": r["reported"],
             "proactive_rate": r["proactive_rate"]} for k, r in enumerate(scored)]


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


MAX_DAYS = 92  # a period longer than this has no daily series (a chart of a year is not read by the day)


def daily(session: Session, q: StatsQuery, since: datetime, until: datetime, tz: str) -> list[dict[str, Any]]:
    """The period's local days, each with the incidents reported and closed that day (a chart's series)."""
    zone = ZoneInfo(tz)
    first, last = since.astimezone(zone).date(), (until - timedelta(microseconds=1)).astimezone(zone).date()
    if (last - first).days >= MAX_DAYS:
        return []
    grid = aliased(Area)
    where = [grid.code.like(q.area + "%")] if q.area else []
    reported = dict(session.execute(
        select(Incident.reported_day, func.count()).select_from(Incident).join(grid, grid.id == Incident.grid_id)
        .where(*where, Incident.reported_at >= since, Incident.reported_at < until, Incident.status != "merged")
        .group_by(Incident.reported_day)).all())
    closed: dict[date, int] = {}
    for (at,) in session.execute(select(Incident.closed_at).select_from(Incident).join(grid, grid.id == Incident.grid_id)
                                 .where(*where, Incident.closed_at >= since, Incident.closed_at < until, Incident.status.in_(DONE))):
        if at is None:
            continue
        day = at.astimezone(zone).date()
        closed[day] = closed.get(day, 0) + 1
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    return [{"day": d.isoformat(), "reported": reported.get(d, 0), "closed": closed.get(d, 0)} for d in days]


# the loop's steps a big screen follows through the day: (step, the events that count for it)
FLOW = (("reported", ("report",)), ("accepted", ("accept",)), ("dispatched", ("dispatch", "take")),
        ("resolved", ("resolve",)), ("verified", ("verify",)), ("closed", ("close",)))


def live(session: Session, principal: Principal | None, tz: str, layer: str, area: str | None = None) -> dict[str, Any]:
    """What a wall shows now (城市运行大屏): the open and overdue incidents, today's reports and closures, today's
    flow through the loop (FLOW: the incidents that took each step today), the open incidents per grid, and the
    month's best and worst grids — of the ground the principal sees."""
    now = clock.now()
    zone = ZoneInfo(tz)
    month = stats(session, StatsQuery(level="grid", area=area, layer=layer), principal, tz, trend=False)
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    grid = aliased(Area)
    where = [grid.code.like(area + "%")] if area else []

    def count(*cond: ColumnElement[bool]) -> int:
        stmt = select(func.count()).select_from(Incident).join(grid, grid.id == Incident.grid_id).where(*where, *cond)
        return int(session.scalar(stmt) or 0)

    is_open = and_(Incident.status.in_(OPEN), Incident.merged_into_id.is_(None))
    flow = []
    for step, actions in FLOW:
        stmt = (select(func.count(distinct(IncidentEvent.incident_id))).select_from(IncidentEvent)
                .join(Incident, Incident.id == IncidentEvent.incident_id).join(grid, grid.id == Incident.grid_id)
                .where(*where, IncidentEvent.action.in_(actions), IncidentEvent.at >= today, IncidentEvent.at <= now))
        flow.append({"step": step, "n": int(session.scalar(stmt) or 0)})
    per_grid = session.execute(select(grid.code, func.count(), func.sum(case((Incident.due_at < now, 1), else_=0)))
                               .select_from(Incident).join(grid, grid.id == Incident.grid_id)
                               .where(*where, is_open).group_by(grid.code)).all()
    ranked = month["ranking"]["grids"]
    best = ranked[:min(5, (len(ranked) + 1) // 2)]
    return {
        "at": now.isoformat(), "area": area, "since": month["since"], "until": month["until"],
        "open": count(is_open), "overdue": count(is_open, Incident.due_at < now),
        "today": {"reported": count(Incident.reported_at >= today, Incident.reported_at <= now, Incident.status != "merged"),
                  "closed": count(Incident.closed_at >= today, Incident.closed_at <= now, Incident.status.in_(DONE))},
        "flow": flow,
        "grids": {code: {"open": n, "overdue": int(late or 0)} for code, n, late in per_grid},
        "best": best, "worst": ranked[len(best):][-5:][::-1],
        "totals": month["totals"],
    }


# --- exports -------------------------------------------------------------------------

def as_geojson(session: Session, result: dict[str, Any], layer: str) -> dict[str, Any]:
    version = version_in_force(session, layer)
    shapes = {}
    if version is not None:
        codes = [r["code"] for r in result["rows"]]
        for code, geom in session.execute(select(Area.code, Area.geom).where(Area.version_id == version.id, Area.code.in_(codes))):
            shapes[code] = geometry_to_geojson(to_shape(geom), 6)
    return {"type": "FeatureCollection", "level": result["level"], "since": result["since"], "until": result["until"],
            "features": [{"type": "Feature", "id": r["code"], "geometry": shapes.get(r["code"]), "properties": r} for r in result["rows"]]}
