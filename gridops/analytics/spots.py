"""Hot spots people can act on: the significant cells of a risk map joined into places, each named by its grids
and community, said in a plain sentence, and followed after patrols are ordered there.

A hot spot is a set of touching H3 cells that Gi* finds hot (after the FDR correction). It is named by the
grids and the community its cells lie in (names, never codes or cell ids), carries the micro-grids it covers
(whose workers a patrol order reaches), its strongest bin and the emerging class most of its cells share. Once
patrols are ordered over some of its cells, it shows whether it cooled: the incidents a week in the weeks
before the first order against the weeks since.

`risk_document` is the one answer both `GET /api/v1/risk` and the risk page are drawn from.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import h3
import shapely
from geoalchemy2.shape import to_shape
from shapely.strtree import STRtree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridops.geo.hexes import STORED_RES, cell_polygon, neighbours, to_parent

from gridops.access.policy import Principal
from gridops.analytics.risk import RESOLUTIONS, RiskQuery, categories_of, risk
from gridops.analytics.wording import ALL_CATEGORIES, BIN_NAMES, CLASS_NAMES, COOLING, MORE, Translate, plain, sentence
from gridops.boundaries.areas import version_in_force
from gridops.core import clock
from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import Area, Category, CategoryGroup, Incident, PatrolOrder, Task
from gridops.core.words import Say
from gridops.field.orders import checklist_for, order_patrols
from gridops.incidents.context import Context

# which class names a spot when its cells differ: the one that most calls for action first
_CLASS_ORDER = ("intensifying", "new", "consecutive", "persistent", "sporadic", "oscillating", "diminishing", "historical")
COOLING_WEEKS = 4  # the weeks before the first order, and at most the weeks since, that are compared
COOLED_SHARE = 0.8  # cooled: a week since has at most this share of a week before


def risk_document(session: Session, q: RiskQuery, tz: str, t: Translate = plain, lang: str = "zh") -> dict[str, Any]:
    """The risk figures (gridops.analytics.risk) with names: every cell's grid, every grid's community, and the hot
    spots, each named, said in a sentence, with the micro-grids a patrol would cover and whether it cooled."""
    data = risk(session, q, tz)
    version = version_in_force(session, q.layer)
    assert version is not None  # risk() refused a layer with no boundaries
    ground = _Ground(session, version.id)
    zone = ZoneInfo(tz)
    category = category_name(session, q.category, t, lang)
    cells = []
    for c in data["cells"]:
        grid = ground.grid_at(c["cell"])
        cells.append({**{k: v for k, v in c.items() if k != "gi_label"}, "gi_label": t(BIN_NAMES[c["gi_bin"]]),
                      "trend_label": t(CLASS_NAMES.get(c["trend"], c["trend"])),
                      "grid": grid, "grid_name": ground.names.get(grid or "")})
    grids = [{k: v for k, v in g.items() if k != "geometry"} | {"community": ground.community_of(g["code"]),
             "community_name": ground.names.get(ground.community_of(g["code"]) or "")} for g in data["grids"]]
    weeks = len(data["weeks"])
    spots = _spots(session, cells, q, ground, zone, t, weeks, category)
    local_since = datetime.fromisoformat(data["query"]["since"]).astimezone(zone)
    local_until = datetime.fromisoformat(data["query"]["until"]).astimezone(zone)
    return {
        "query": {**data["query"], "category_name": category, "since_day": local_since.date().isoformat(),
                  "until_day": last_day(local_until).isoformat(), "timezone": tz},
        "boundary_version": data["boundary_version"], "weeks": data["weeks"], "total": data["total"],
        "method": {"gi_star": "Getis-Ord Gi*, binary weights, the cell and its six neighbours",
                   "fdr_corrected": True, "fdr": "Benjamini-Hochberg, at each of 90/95/99%",
                   "emerging": "space-time Gi* per week (this week and last), Mann-Kendall trend of the z-scores",
                   "rate": "incidents per 1,000 households (the buildings' households)"},
        "hot_spot_cells": data["hot_spots"], "cold_spot_cells": data["cold_spots"],
        "classes": {k: {"count": n, "label": t(CLASS_NAMES.get(k, k))} for k, n in data["classes"].items()},
        "hot_spots": spots, "cells": cells, "grids": grids,
        "heat": data["heat"],
        "_shapes": {"study_area": data["study_area"], "grids": {g["code"]: g["geometry"] for g in data["grids"]}},
    }


def last_day(local_until: datetime) -> Any:
    """The last day a window ending at `local_until` includes: the day before when it ends at a midnight."""
    return (local_until - timedelta(microseconds=1)).date() if local_until.time() == datetime.min.time() else local_until.date()


def category_name(session: Session, code: str | None, t: Translate, lang: str) -> str:
    """A category's or a group's name in the reader's language (the catalogue's words for all of them)."""
    if not code:
        return t(ALL_CATEGORIES)
    for model in (Category, CategoryGroup):
        row = session.execute(select(model.name, model.name_en).where(model.code == code)).first()
        if row is not None:
            name, name_en = row
            return str(name_en or name) if lang == "en" else str(name)
    return code


class _Ground:
    """The grids, communities and micro-grids in force: names, parents, shapes to place cells in."""

    def __init__(self, session: Session, version_id: int) -> None:
        rows = session.execute(select(Area.id, Area.parent_id, Area.code, Area.name, Area.level, Area.geom)
                               .where(Area.version_id == version_id)).all()
        by_id = {r.id: r for r in rows}
        self.names = {r.code: r.name for r in rows}
        self.level = {r.code: r.level for r in rows}
        self._parent: dict[str, str | None] = {r.code: by_id[r.parent_id].code if r.parent_id in by_id else None for r in rows}
        grids = [r for r in rows if r.level == "grid"]
        micro = [r for r in rows if r.level == "micro_grid"]
        self._grid_codes = [r.code for r in grids]
        self._grid_shapes = [to_shape(r.geom) for r in grids]
        self._grid_tree = STRtree(self._grid_shapes)
        self.micro_codes = [r.code for r in micro]
        self.micro_shapes = [to_shape(r.geom) for r in micro]
        self.micro_tree = STRtree(self.micro_shapes)

    def grid_at(self, cell_hex: str) -> str | None:
        """The grid a cell's centre lies in (else the nearest within the cell)."""
        polygon = cell_polygon(int(cell_hex, 16))
        centre = polygon.centroid
        for k in self._grid_tree.query(centre, predicate="intersects"):
            return self._grid_codes[int(k)]
        best = max(((self._grid_shapes[int(k)].intersection(polygon).area, int(k))
                    for k in self._grid_tree.query(polygon, predicate="intersects")), default=None)
        return self._grid_codes[best[1]] if best and best[0] > 0 else None

    def up(self, code: str | None, level: str) -> str | None:
        while code is not None and self.level.get(code) != level:
            code = self._parent.get(code)
        return code

    def community_of(self, code: str) -> str | None:
        return self.up(code, "community")

    def micro_grids_in(self, shape: Any) -> list[str]:
        """The micro-grids a shape covers a real part of (a fifth of it, or a fifth of the shape; a sliver along an
        edge does not count)."""
        out = []
        for k in self.micro_tree.query(shape, predicate="intersects"):
            m = self.micro_shapes[int(k)]
            if m.intersection(shape).area >= 0.2 * min(m.area, shape.area):
                out.append(self.micro_codes[int(k)])
        return sorted(out)


def _groups(hot: list[str]) -> list[list[str]]:
    """Hot cells joined into touching groups."""
    ints = [int(c, 16) for c in hot]
    nb = neighbours(ints)
    hot_set, seen, groups = set(ints), set(), []
    for c in ints:
        if c in seen:
            continue
        stack, group = [c], []
        seen.add(c)
        while stack:
            x = stack.pop()
            group.append(x)
            for y in nb[x]:
                if y in hot_set and y not in seen:
                    seen.add(y)
                    stack.append(y)
        groups.append(sorted(format(x, "x") for x in group))
    return groups


def _spots(session: Session, cells: list[dict[str, Any]], q: RiskQuery, ground: _Ground, zone: ZoneInfo, t: Translate,
           weeks: int, category: str) -> list[dict[str, Any]]:
    by_cell = {c["cell"]: c for c in cells}
    hot = [c["cell"] for c in cells if c["gi_bin"] > 0]
    orders = _orders(session, q)
    spots = []
    for group in _groups(hot):
        rows = [by_cell[c] for c in group]
        shape = shapely.union_all([cell_polygon(int(c, 16)) for c in group])
        found: set[str] = {r["grid"] for r in rows if r["grid"]}
        found |= {g for g in (ground.up(m, "grid") for m in ground.micro_grids_in(shape)) if g}
        grids = sorted(found, key=lambda g: (-sum(r["count"] for r in rows if r["grid"] == g), g))
        communities = list(dict.fromkeys(c for c in (ground.community_of(g) for g in grids) if c))
        classes = Counter(r["trend"] for r in rows if r["trend"] in _CLASS_ORDER)
        trend = min(classes, key=lambda k: (-classes[k], _CLASS_ORDER.index(k))) if classes else "no pattern"
        top = max(r["gi_bin"] for r in rows)
        count = sum(r["count"] for r in rows)
        households = sum(r["households"] or 0 for r in rows)
        weekly = [sum(r["weekly"][k] for r in rows) for k in range(weeks)]
        name = "、".join(ground.names[g] for g in grids[:3]) + (t(MORE).format(n=len(grids) - 3) if len(grids) > 3 else "")
        spots.append({
            "id": group[0], "cells": group, "count": count, "weekly": weekly, "households": households,
            "rate_per_1000_households": round(1000.0 * count / households, 2) if households else None,
            "gi_bin": top, "gi_z_max": max(r["gi_z"] for r in rows), "gi_label": t(BIN_NAMES[top]),
            "trend": trend, "trend_label": t(CLASS_NAMES[trend]),
            "grids": [{"code": g, "name": ground.names[g]} for g in grids],
            "communities": [{"code": c, "name": ground.names[c]} for c in communities],
            "name": name, "community_name": "、".join(ground.names[c] for c in communities),
            "micro_grids": [{"code": m, "name": ground.names[m]} for m in ground.micro_grids_in(shape)],
            "sentence": sentence(t, weeks, category, top, trend),
            "centre": [round(shape.centroid.x, 6), round(shape.centroid.y, 6)],
            "patrols": _cooling(session, q, group, households, orders, zone, t),
        })
    spots.sort(key=lambda s: (-s["gi_bin"], -s["gi_z_max"], -s["count"]))
    return spots


def _orders(session: Session, q: RiskQuery) -> list[PatrolOrder]:
    return list(session.scalars(select(PatrolOrder).where(PatrolOrder.category.is_(None) if not q.category
                                                          else PatrolOrder.category == q.category).order_by(PatrolOrder.created_at)))


def _common(cells: list[str], other: list[str], res: int, other_res: int) -> bool:
    low = min(res, other_res)
    mine = {h3.cell_to_parent(c, low) if res > low else c for c in cells}
    theirs = {h3.cell_to_parent(c, low) if other_res > low else c for c in other}
    return bool(mine & theirs)


def _cooling(session: Session, q: RiskQuery, cells: list[str], households: int, orders: list[PatrolOrder], zone: ZoneInfo,
             t: Translate) -> dict[str, Any] | None:
    """Patrols ordered over this spot: how many, since when, and the incidents a week before and since the first."""
    mine = [o for o in orders if _common(cells, o.cells, q.res, o.res)]
    if not mine:
        return None
    first = mine[0].created_at
    first_day = first.astimezone(zone).date()
    today = clock.now().astimezone(zone).date()
    before_from = first_day - timedelta(weeks=COOLING_WEEKS)
    after_to = min(today + timedelta(days=1), first_day + timedelta(weeks=COOLING_WEEKS))
    stmt = (select(Incident.h3_cell, Incident.reported_day, func.count())
            .where(Incident.reported_day >= before_from, Incident.reported_day < after_to, Incident.status != "merged")
            .group_by(Incident.h3_cell, Incident.reported_day))
    wanted = categories_of(session, q.category)
    if wanted is not None:
        stmt = stmt.where(Incident.category_code.in_(wanted))
    rows = [(c, d, n) for c, d, n in session.execute(stmt).all() if c is not None and d is not None]
    parents = dict(zip({r[0] for r in rows}, to_parent({r[0] for r in rows}, q.res), strict=True)) if q.res < STORED_RES else None
    spot = {int(c, 16) for c in cells}
    before = after = 0
    for cell, day, n in rows:
        at_res = parents[cell] if parents is not None else cell
        if at_res in spot:
            if day < first_day:
                before += n
            else:
                after += n
    days_since = (after_to - first_day).days
    before_week = round(before / COOLING_WEEKS, 1)
    after_week = round(after * 7 / days_since, 1) if days_since >= 7 else None
    state = "too_early" if after_week is None else "cooled" if after_week <= COOLED_SHARE * before_week else "not_cooled"
    scale = 1000.0 / households if households else None
    return {
        "orders": len(mine), "first_ordered_at": first.isoformat(), "first_day": first_day.isoformat(),
        "tasks": [tid for o in mine for tid in _task_ids(session, o.id)],
        "before_per_week": before_week, "after_per_week": after_week,
        "before_rate_per_1000_households_week": round(before_week * scale, 2) if scale else None,
        "after_rate_per_1000_households_week": round(after_week * scale, 2) if scale and after_week is not None else None,
        "state": state,
        "summary": t(COOLING[state]).format(day=first_day.isoformat(), before=before_week, after=after_week),
    }


def _task_ids(session: Session, order_id: int) -> list[int]:
    return list(session.scalars(select(Task.id).where(Task.order_id == order_id).order_by(Task.id)))


def order_spot_patrols(session: Session, ctx: Context, principal: Principal, *, category: str | None, res: int,
                       cells: list[str], note: str | None = None) -> dict[str, Any]:
    """派发巡查 from a hot spot: the micro-grids its cells cover, each patrolled by its worker with the category's
    checklist (gridops.field.orders); the order is what the risk page later measures the spot's cooling from."""
    if res not in RESOLUTIONS:
        raise InvalidParameter("res", Say("res must be one of %(value)s (H3 resolution); got %(res)s.",
                                          value=', '.join(map(str, RESOLUTIONS)), res=res))
    if not cells:
        raise InvalidParameter("cells", Say("name the hot spot's cells (H3, as the risk map gives them)."))
    wanted = categories_of(session, category)  # an unknown category is refused, naming the known ones
    clean = []
    for c in dict.fromkeys(cells):
        if not isinstance(c, str) or not h3.is_valid_cell(c) or h3.get_resolution(c) != res:
            raise InvalidParameter("cells", Say("%(c)r is not an H3 cell at resolution %(res)s.", c=c, res=res))
        clean.append(c)
    version = version_in_force(session, ctx.geocoder.primary_layer)
    if version is None:
        raise NotFound(Say("layer %(primary_layer)r has no published boundaries yet.", primary_layer=ctx.geocoder.primary_layer))
    ground = _Ground(session, version.id)
    place = shapely.union_all([cell_polygon(int(c, 16)) for c in clean])
    micro = ground.micro_grids_in(place)
    name = category_name(session, category, plain, "zh") if category else "综合"
    group = None
    if wanted is not None and len(wanted) == 1:
        group = session.scalar(select(Category.group_code).where(Category.code == wanted[0]))
    grids = list(dict.fromkeys(g for g in (ground.up(m, "grid") for m in micro) if g))
    title = f"巡查{name}热点 · {'、'.join(ground.names[g] for g in grids[:2])}" if grids else f"巡查{name}热点"
    return order_patrols(session, ctx, principal, micro_grids=micro, title=title,
                         checklist=checklist_for(wanted[0] if wanted and len(wanted) == 1 else category, group or category),
                         category=category, res=res, cells=clean, note=note)
