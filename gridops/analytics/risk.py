"""Hidden risks: counts and rates per grid and per H3 cell, hot and cold spots, and how they move.

Everything is aggregated in the database — counts by (cell, week) and by grid,
one GROUP BY each on the incident's stored H3 cell — so the cost of a risk map
follows the number of cells and weeks, not the number of incidents; the only
points that leave the database are the recent ones for the heat layer, and
beyond `HEAT_MAX_POINTS` those too become weighted cell centres. The analysis
itself is geo.hotspots (Gi* with FDR on the cells, emerging hot-spot classes
over the weeks with a Mann-Kendall trend).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import h3
import numpy as np
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gridops.geo.geojson import geometry_to_geojson
from gridops.geo.hexes import STORED_RES, cell_polygon, cells_of, neighbours, to_parent
from gridops.geo.hotspots import confidence_bins, emerging, gi_star

from gridops.boundaries.areas import version_in_force
from gridops.core import clock
from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import Area, Building, Category, Incident
from gridops.core.shapes import to_point
from gridops.core.stamps import HISTORY_STAMP, stamps
from gridops.core.timeparse import parse_optional_time
from gridops.core.words import Say

HEAT_MAX_POINTS = 5_000
DEFAULT_WEEKS = 8
RESOLUTIONS = (7, 8, 9, 10)
BIN_LABELS = {3: "hot spot, 99% confidence", 2: "hot spot, 95%", 1: "hot spot, 90%", 0: "not significant",
              -1: "cold spot, 90%", -2: "cold spot, 95%", -3: "cold spot, 99% confidence"}


@dataclass(frozen=True)
class RiskQuery:
    category: str | None  # a category code, a group (hazard, dispute, …) or None for all
    area: str | None  # an area code: the study area (default: the whole layer)
    since: datetime
    until: datetime
    res: int = 10
    recent_days: int = 14
    layer: str = "grid"


def parse_risk_args(args: Mapping[str, str], tz: str, layer: str, now: datetime | None = None) -> RiskQuery:
    """A risk query from a page's (or the API's, or the CLI's) parameters; bad values name their field.

    The window is whole local days: an `until` written as a day alone (as the form writes it) means the end of
    that day, so the day shown in the form is included — today's reports too — and the default is the end of
    today (not "now", which a form would round back to today's midnight and so drop today)."""
    now = now or clock.now()
    zone = ZoneInfo(tz)
    raw_until = (args.get("until") or "").strip()
    until = parse_optional_time(raw_until, tz, "until")
    if until is not None and _a_day_alone(raw_until):
        until = datetime.combine(date.fromisoformat(raw_until) + timedelta(days=1), time(0, 0), zone).astimezone(UTC)
    if until is None:
        until = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0, 0), zone).astimezone(UTC)
    since = parse_optional_time(args.get("since"), tz, "since") or until - timedelta(weeks=DEFAULT_WEEKS)
    raw_res = (args.get("res") or "10").strip()
    if not raw_res.isdigit() or int(raw_res) not in RESOLUTIONS:
        raise InvalidParameter("res", Say("`res` is an H3 resolution, one of %(value)s; got %(raw_res)r.",
                                          value=', '.join(map(str, RESOLUTIONS)), raw_res=raw_res))
    raw_days = (args.get("recent_days") or "14").strip()
    if not raw_days.isdigit() or not 1 <= int(raw_days) <= 90:
        raise InvalidParameter("recent_days", Say("`recent_days` (the heat layer's window) is 1 to 90 days; got %(raw_days)r.",
                                                  raw_days=raw_days))
    return RiskQuery(category=(args.get("category") or "").strip() or None, area=(args.get("area") or "").strip() or None,
                     since=since, until=until, res=int(raw_res), recent_days=int(raw_days), layer=layer)


def _a_day_alone(raw: str) -> bool:
    try:
        date.fromisoformat(raw)
    except ValueError:
        return False
    return len(raw) == 10


def risk(session: Session, q: RiskQuery, tz: str) -> dict[str, Any]:
    """The whole risk picture for a category, an area and a window, as plain data for a map or the API."""
    if q.res not in RESOLUTIONS:
        raise InvalidParameter("res", Say("res must be one of %(value)s (H3 resolution); got %(res)s.",
                                          value=', '.join(map(str, RESOLUTIONS)), res=q.res))
    if q.until <= q.since:
        raise InvalidParameter("until", Say("`until` must be after `since`."))
    if q.until - q.since > timedelta(days=731):
        raise InvalidParameter("since", Say("a risk window is at most two years."))
    categories = categories_of(session, q.category)
    version = version_in_force(session, q.layer)
    if version is None:
        raise NotFound(Say("layer %(layer)r has no published boundaries yet.", layer=q.layer))
    study = _study_area(session, version.id, q.area)
    zone = ZoneInfo(tz)
    # counted by local day (the incident's stored reported_day): the window is whole days, `until`'s day
    # included unless `until` is its midnight. Weekly slices are the 7-day periods ending with the last
    # day, so the latest is whole (a trend read off a half-empty last week would always be falling); a
    # part-week at the start is left out of the slices.
    first_day = q.since.astimezone(zone).date()
    local_until = q.until.astimezone(zone)
    end_day = local_until.date() + (timedelta(0) if local_until.time() == time(0, 0) else timedelta(days=1))
    weeks = max(1, (end_day - first_day).days // 7)
    start_day = end_day - timedelta(weeks=weeks)
    week_starts = [start_day + timedelta(weeks=k) for k in range(weeks)]
    grids_under = select(Area.id).where(Area.level == "grid", Area.code.like((q.area or "") + "%")).scalar_subquery()

    def filtered(stmt: Select[*tuple[Any, ...]], since_day: date, until_day: date = end_day) -> Select[*tuple[Any, ...]]:
        """The incidents of the query between the days (the grid's code decides the area: stable across redraws)."""
        stmt = stmt.where(Incident.reported_day >= since_day, Incident.reported_day < until_day, Incident.status != "merged")
        if categories is not None:
            stmt = stmt.where(Incident.category_code.in_(categories))
        if q.area:
            stmt = stmt.where(Incident.grid_id.in_(grids_under))
        return stmt

    today = clock.now().astimezone(zone).date()
    by_cell, by_grid = _day_counts(session, filtered, (tuple(categories or ()), q.area), first_day, end_day, today)
    cell_week = [(cell, (day - start_day).days // 7 if day >= start_day else -1, n) for (cell, day), n in by_cell.items()]
    code_of = dict(session.execute(select(Area.id, Area.code).where(Area.level == "grid")).all())
    grid_counts: dict[str, int] = {}
    for (gid, _day), n in by_grid.items():
        grid_counts[code_of[gid]] = grid_counts.get(code_of[gid], 0) + n

    cells, matrix = _cube(cell_week, study["cells"](q.res), q.res, weeks)
    totals = matrix.sum(axis=1)
    nb = neighbours(cells)
    position = {c: k for k, c in enumerate(cells)}
    nb_idx = [[position[n] for n in nb[c]] for c in cells]
    z = gi_star(totals, nb_idx)
    bins = confidence_bins(z)
    moving = emerging(matrix, nb_idx) if weeks >= 2 else None
    households = _cell_households(session, q.res)

    cell_rows = []
    for k, c in enumerate(cells):
        hh = households.get(c, 0)
        cell_rows.append({
            "cell": format(c, "x"), "count": int(totals[k]), "weekly": [int(v) for v in matrix[k]], "households": hh,
            "rate_per_1000_households": round(1000.0 * totals[k] / hh, 2) if hh else None,
            "gi_z": round(float(z[k]), 3), "gi_bin": int(bins[k]), "gi_label": BIN_LABELS[int(bins[k])],
            "trend": moving.classes[k] if moving else "no pattern",
            "trend_z": round(float(moving.trend_z[k]), 3) if moving else None,
        })
    grids = []
    for code, name, hh, geom in study["grids"]:
        n = int(grid_counts.get(code, 0))
        grids.append({"code": code, "name": name, "households": hh, "count": n,
                      "rate_per_1000_households": round(1000.0 * n / hh, 2) if hh else None, "geometry": geom})
    return {
        "query": {"category": q.category, "categories": categories, "area": q.area, "since": q.since.isoformat(),
                  "until": q.until.isoformat(), "res": q.res, "layer": q.layer},
        "boundary_version": version.number,
        "weeks": [w.isoformat() for w in week_starts],
        "total": int(totals.sum()),
        "cells": cell_rows,
        "grids": grids,
        "study_area": study["geometry"],
        "heat": _heat(session, filtered, q, first_day, end_day),
        "hot_spots": int((bins > 0).sum()), "cold_spots": int((bins < 0).sum()),
        "classes": _class_counts(moving.classes) if moving else {},
    }


def cell_geometry(cell_hex: str) -> dict[str, Any]:
    return geometry_to_geojson(cell_polygon(int(cell_hex, 16)), 6)


# --- pieces --------------------------------------------------------------------


def categories_of(session: Session, wanted: str | None) -> list[str] | None:
    """The category codes a query's `category` means: the one category, the categories of a group, or None (all)."""
    if not wanted:
        return None
    rows = session.execute(select(Category.code, Category.group_code)).all()
    exact = [c for c, _ in rows if c == wanted]
    group = [c for c, g in rows if g == wanted]
    if not exact and not group:
        known = sorted({c for c, _ in rows} | {g for _, g in rows if g})
        raise InvalidParameter("category", Say("no category or group %(wanted)r; known: %(known)s.",
                                               wanted=wanted, known=', '.join(known)), allowed=known)
    return exact or group


def _study_area(session: Session, version_id: int, code: str | None) -> dict[str, Any]:
    """The study area's outline, its grids (with outlines), and the H3 cells covering it at any resolution."""
    if code:
        area = session.scalar(select(Area).where(Area.version_id == version_id, Area.code == code))
        if area is None:
            raise NotFound(Say("no area %(code)r in the boundaries in force.", code=code), field="area")
        outline = to_shape(area.geom)
        prefix = code
    else:
        outline = shapely.union_all([to_shape(g) for g in session.scalars(
            select(Area.geom).where(Area.version_id == version_id, Area.parent_id.is_(None)))])
        prefix = ""
    grid_rows = session.execute(
        select(Area.code, Area.name, Area.households, Area.geom)
        .where(Area.version_id == version_id, Area.level == "grid", Area.code.like(prefix + "%")).order_by(Area.code)
    ).all()
    grids = [(c, n, h, geometry_to_geojson(shapely.simplify(to_shape(g), 0.00001), 6)) for c, n, h, g in grid_rows]

    def cells(res: int) -> list[int]:
        return sorted(int(h3.str_to_int(c)) for c in h3.geo_to_cells(outline.__geo_interface__, res))

    return {"geometry": geometry_to_geojson(outline, 6), "grids": grids, "cells": cells}


# --- counts by day, with settled days kept in memory ---------------------------------

SETTLED_AFTER_DAYS = 3  # days older than this are settled: their counts change only with the history stamp
_SETTLED_MAX = 32


@dataclass
class _Settled:
    """Counts of settled days for one (categories, area), as of a history stamp."""

    stamp: int
    first: date  # days from here (inclusive) …
    cutoff: date  # … to here (exclusive) are held
    cells: dict[date, dict[int, int]]
    grids: dict[date, dict[int, int]]


class _Filter(Protocol):
    """A query's incidents between two days (the `filtered` of risk(), handed to the pieces below)."""

    def __call__(self, stmt: Select[*tuple[Any, ...]], since_day: date, until_day: date = ...) -> Select[*tuple[Any, ...]]: ...


_SETTLED: OrderedDict[tuple, _Settled] = OrderedDict()
_SETTLED_LOCK = threading.Lock()


def _query_days(session: Session, filtered: _Filter, since: date,
                until: date) -> tuple[dict[date, dict[int, int]], dict[date, dict[int, int]]]:
    cells: dict[date, dict[int, int]] = {}
    grids: dict[date, dict[int, int]] = {}
    if since >= until:
        return cells, grids
    for cell, day, n in session.execute(filtered(select(Incident.h3_cell, Incident.reported_day, func.count()), since, until)
                                        .group_by(Incident.h3_cell, Incident.reported_day)):
        cells.setdefault(day, {})[cell] = n
    for gid, day, n in session.execute(filtered(select(Incident.grid_id, Incident.reported_day, func.count()), since, until)
                                       .group_by(Incident.grid_id, Incident.reported_day)):
        grids.setdefault(day, {})[gid] = n
    return cells, grids


def _day_counts(session: Session, filtered: _Filter, key: tuple, first: date, end: date,
                today: date) -> tuple[dict[tuple[int, date], int], dict[tuple[int, date], int]]:
    """(cell, day) -> n and (grid id, day) -> n over [first, end): settled days from memory, the rest queried.

    The history stamp is read before any count, so a change committed meanwhile can only make the
    counts newer than the stamp they are kept under, never older.
    """
    cutoff = today - timedelta(days=SETTLED_AFTER_DAYS)
    cells: dict[tuple[int, date], int] = {}
    grids: dict[tuple[int, date], int] = {}
    live_from = first
    if first < cutoff:
        stamp = stamps(session).get(HISTORY_STAMP, 0)
        full_key = (str(session.get_bind().engine.url), *key)
        with _SETTLED_LOCK:
            entry = _SETTLED.get(full_key)
        if entry is None or entry.stamp != stamp or entry.first > first:
            c, g = _query_days(session, filtered, first, cutoff)
            entry = _Settled(stamp, first, cutoff, c, g)
        elif entry.cutoff < cutoff:  # the days moved on: settle the ones in between
            c, g = _query_days(session, filtered, entry.cutoff, cutoff)
            entry = _Settled(stamp, entry.first, cutoff, {**entry.cells, **c}, {**entry.grids, **g})
        with _SETTLED_LOCK:
            _SETTLED[full_key] = entry
            _SETTLED.move_to_end(full_key)
            while len(_SETTLED) > _SETTLED_MAX:
                _SETTLED.popitem(last=False)
        upto = min(end, cutoff)
        for day, counts in entry.cells.items():
            if first <= day < upto:
                for cell, n in counts.items():
                    cells[(cell, day)] = n
        for day, counts in entry.grids.items():
            if first <= day < upto:
                for gid, n in counts.items():
                    grids[(gid, day)] = n
        live_from = max(first, cutoff)
    c, g = _query_days(session, filtered, live_from, end)
    for day, counts in c.items():
        for cell, n in counts.items():
            cells[(cell, day)] = n
    for day, counts in g.items():
        for gid, n in counts.items():
            grids[(gid, day)] = n
    return cells, grids


def _cube(rows: Sequence[tuple[int | None, int, int]], covering: list[int], res: int, weeks: int) -> tuple[list[int], np.ndarray]:
    """Counts as cells × weeks at `res`, over the cells covering the study area and any cell with a count."""
    stored = sorted({r[0] for r in rows if r[0] is not None})
    parents = dict(zip(stored, to_parent(stored, res), strict=True)) if res < STORED_RES else {c: c for c in stored}
    cells = sorted(set(covering) | set(parents.values()))
    index = {c: k for k, c in enumerate(cells)}
    matrix = np.zeros((len(cells), weeks))
    for cell, week, n in rows:
        if cell is None or week is None or not 0 <= week < weeks:
            continue
        matrix[index[parents[cell]], int(week)] += n
    return cells, matrix


_HOUSEHOLDS: dict[tuple, dict[int, int]] = {}


def _cell_households(session: Session, res: int) -> dict[int, int]:
    """Households per cell from the buildings (cached until a building changes)."""
    key_row = session.execute(select(func.count(Building.id), func.max(Building.updated_at), func.sum(Building.households))).one()
    key = (str(session.get_bind().engine.url), res, *key_row)
    if key not in _HOUSEHOLDS:
        rows = session.execute(select(Building.location, Building.households).where(Building.households > 0)).all()
        out: dict[int, int] = {}
        if rows:
            points = [to_point(loc) for loc, _ in rows]
            cells = cells_of([p.x for p in points], [p.y for p in points], res)
            for c, (_, hh) in zip(cells, rows, strict=True):
                out[int(c)] = out.get(int(c), 0) + int(hh)
        _HOUSEHOLDS.clear()
        _HOUSEHOLDS[key] = out
    return _HOUSEHOLDS[key]


def _heat(session: Session, filtered: _Filter, q: RiskQuery, first_day: date, end_day: date) -> dict[str, Any]:
    """The recent incidents for a heat layer: the points themselves, or beyond the cap the stored cells' centres, weighted."""
    since = max(first_day, end_day - timedelta(days=q.recent_days))
    rows = session.execute(filtered(select(Incident.location), since).limit(HEAT_MAX_POINTS + 1)).all()
    if len(rows) <= HEAT_MAX_POINTS:
        pts = [to_point(r[0]) for r in rows]
        return {"since": since.isoformat(), "aggregated": False, "points": [[round(p.y, 6), round(p.x, 6), 1] for p in pts]}
    points = []
    for cell, n in session.execute(filtered(select(Incident.h3_cell, func.count()), since).group_by(Incident.h3_cell)).all():
        if cell is not None:
            lat, lon = h3.cell_to_latlng(h3.int_to_str(int(cell)))
            points.append([round(lat, 6), round(lon, 6), int(n)])
    return {"since": since.isoformat(), "aggregated": True, "points": points}


def _class_counts(classes: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in classes:
        if c != "no pattern":
            out[c] = out.get(c, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
