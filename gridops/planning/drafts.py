"""Planners redraw a community's grids: generate or rebalance a draft, edit it, see what it moves, publish it.

A draft is the grid and micro-grid of every building of one community. Its
boundaries are made from the buildings' cells (geo.plan), so every edit — move
a building, split, merge, redraw by hand — is a relabelling, checked at once:
households per grid, contiguity, compactness, gaps and overlaps, nesting, and
the impact against the version in force (households, workers' grounds, open
incidents and scheduled patrol visits that would change grid).

Publishing makes the draft the next boundary version of the layer, effective at
the planner's chosen time, with every other community carried over. Open
incidents stay with their assignee until closed (their history says so);
patrol visits due from the effective time go to their door's new grid; the
geocoder switches to the new version atomically at the effective time
(gridops.boundaries.registry).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape as geojson_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridops.geo.districting import Bounds, grid_count, partition
from gridops.geo.plan import Ground, Plan, PlanError, Unit, adopt_unplaced, as_multipolygon
from gridops.geo.validate import AreaRecord, coverage_problems, validate_tree

from gridops.core import clock
from gridops.boundaries.areas import version_in_force
from gridops.access.policy import Principal
from gridops.boundaries.versions import ImportRefused, store_version, version_records
from gridops.boundaries.levels import level_rules
from gridops.core.errors import Conflict, InvalidParameter, NotFound
from gridops.incidents.loop import CLOSED
from gridops.incidents.context import Context
from gridops.incidents.events import record
from gridops.core.models import Area, AreaLevel, Assignment, Building, Incident, Layer, PlanDraft, Road, Task, Worker
from gridops.incidents.loop import TASK_ACTIVE

BARRIER_KINDS = ("river", "railway", "rail", "canal", "barrier", "wall")
EDIT_OPS = ("move", "split", "merge", "redraw")


@dataclass(frozen=True)
class Settings:
    grid: Bounds
    micro: Bounds
    digits: tuple[int, int] = (3, 3)  # characters a grid adds to its community's code, a micro-grid to its grid's

    @classmethod
    def of(cls, session: Session, grid: tuple[int | None, int | None] = (None, None),
           micro: tuple[int | None, int | None] = (None, None)) -> Settings:
        """The bounds asked for, else the levels' own (area_level), else 300-500 and 50-80."""
        levels = {lv.code: lv for lv in session.scalars(select(AreaLevel).where(AreaLevel.code.in_(("grid", "micro_grid"))))}

        def pick(level: str, asked: tuple[int | None, int | None], default: tuple[int, int]) -> tuple[int, int]:
            lv = levels.get(level)
            lo = asked[0] if asked[0] is not None else (lv.households_min if lv and lv.households_min else default[0])
            hi = asked[1] if asked[1] is not None else (lv.households_max if lv and lv.households_max else default[1])
            if lo < 1 or hi < lo:
                raise InvalidParameter(f"{level}_households", f"{level} bounds must be 1 <= min <= max; got {lo}-{hi}.")
            return lo, hi

        g = pick("grid", grid, (300, 500))
        m = pick("micro_grid", micro, (50, 80))
        digits = tuple(levels[lv].code_digits if lv in levels else 3 for lv in ("grid", "micro_grid"))
        return cls(Bounds(*g), Bounds(*m, exempt_single=True), digits)

    def as_json(self) -> dict[str, Any]:
        return {"grid_households": [self.grid.lo, self.grid.hi], "micro_households": [self.micro.lo, self.micro.hi],
                "code_digits": list(self.digits)}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Settings:
        return cls(Bounds(*doc["grid_households"]), Bounds(*doc["micro_households"], exempt_single=True),
                   tuple(doc.get("code_digits", (3, 3))))


@dataclass
class Community:
    """One community as the version in force has it, with its ground ready to cut."""

    code: str
    name: str
    version_id: int
    layer_id: int
    polygon: BaseGeometry
    ground: Ground
    published: dict[str, tuple[str, str]]  # building code -> (grid, micro-grid) in force
    grid_geoms: dict[str, BaseGeometry]
    building_ids: dict[str, int]


_GROUNDS: OrderedDict[tuple, Ground] = OrderedDict()
_GROUNDS_LOCK = threading.Lock()


def _community(session: Session, layer: str, code: str) -> Community:
    version = version_in_force(session, layer, clock.now())
    if version is None:
        raise NotFound(f"layer {layer} has no published boundaries yet.")
    row = session.execute(
        select(Area.id, Area.name, Area.level, Area.geom.ST_AsBinary()).where(Area.version_id == version.id, Area.code == code)
    ).first()
    if row is None:
        raise NotFound(f"no area {code} in {layer} version {version.number}.")
    if row[2] != "community":
        raise InvalidParameter("community", f"{code} is a {row[2]}, not a community; plans are drawn per community.")
    polygon = shapely.from_wkb(bytes(row[3]))
    kids = session.execute(
        select(Area.id, Area.code, Area.level, Area.parent_id, Area.geom.ST_AsBinary())
        .where(Area.version_id == version.id, Area.code.like(f"{code}%"), Area.level.in_(("cluster", "grid", "micro_grid")))
    ).all()
    if any(k[2] == "cluster" for k in kids):
        raise InvalidParameter("community", f"community {code} groups its grids into clusters (小分格); "
                                            "plans are drawn for communities whose grids sit directly under them.")
    buildings = session.execute(
        select(Building.id, Building.code, Building.households, Building.location.ST_AsBinary(), Building.footprint.ST_AsBinary())
        .where(func.ST_Intersects(Building.location, func.ST_GeomFromWKB(polygon.wkb, 4326)))
        .order_by(Building.code)
    ).all()
    if not buildings:
        raise InvalidParameter("community", f"community {code} has no buildings to plan.")
    points = shapely.from_wkb([bytes(b[3]) for b in buildings])
    grids = [k for k in kids if k[2] == "grid"]
    micros = [k for k in kids if k[2] == "micro_grid"]
    published = _placed(points, [b[1] for b in buildings], grids, micros)
    key = (code, version.id, tuple((b[1], int(b[2] or 0)) for b in buildings))
    with _GROUNDS_LOCK:
        ground = _GROUNDS.get(key)
    if ground is None:
        units = [Unit(b[1], int(b[2] or 0), shapely.from_wkb(bytes(b[4])) if b[4] is not None else points[k])
                 for k, b in enumerate(buildings)]
        streets, barriers = _lines_near(session, polygon)
        try:
            ground = Ground(units, container=polygon, streets=streets, barriers=barriers)
        except PlanError as exc:
            raise InvalidParameter("community", str(exc)) from None
        with _GROUNDS_LOCK:
            _GROUNDS[key] = ground
            while len(_GROUNDS) > 8:
                _GROUNDS.popitem(last=False)
    return Community(code, row[1], version.id, version.layer_id, polygon, ground, published,
                     {k[1]: shapely.from_wkb(bytes(k[4])) for k in grids}, {b[1]: b[0] for b in buildings})


def _placed(points: np.ndarray, codes: list[str], grids: list, micros: list) -> dict[str, tuple[str, str]]:
    """Each building's grid and micro-grid in force, by where its entrance stands."""
    out: dict[str, tuple[str, str]] = {}
    if not grids:
        return out

    def owner(areas: list) -> list[str | None]:
        polys = shapely.from_wkb([bytes(a[4]) for a in areas])
        tree = shapely.STRtree(polys)
        pt, ar = tree.query(points, predicate="intersects")
        found: list[str | None] = [None] * len(points)
        for p, a in zip(pt.tolist(), ar.tolist(), strict=True):
            if found[p] is None:
                found[p] = areas[a][1]
        return found

    g = owner(grids)
    m = owner(micros) if micros else [None] * len(points)
    for code, grid, micro in zip(codes, g, m, strict=True):
        if grid is not None:
            out[code] = (grid, micro if micro and micro.startswith(grid) else "")
    return out


def _lines_near(session: Session, polygon: BaseGeometry) -> tuple[list[BaseGeometry], list[BaseGeometry]]:
    area = func.ST_GeomFromWKB(shapely.box(*polygon.buffer(0.002).bounds).wkb, 4326)
    rows = session.execute(select(Road.kind, Road.geom.ST_AsBinary()).where(func.ST_Intersects(Road.geom, area))).all()
    streets = [shapely.from_wkb(bytes(g)) for kind, g in rows if kind not in BARRIER_KINDS]
    barriers = [shapely.from_wkb(bytes(g)) for kind, g in rows if kind in BARRIER_KINDS]
    return streets, barriers


# --- drafts -------------------------------------------------------------------------


def _plan_json(plan: Plan) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    return {u: list(v) for u, v in plan.assignment.items()}, plan.metrics, plan.problems


def create_draft(session: Session, principal: Principal | None, layer: str, community: str, method: str = "generate", *,
                 grid: tuple[int | None, int | None] = (None, None), micro: tuple[int | None, int | None] = (None, None)
                 ) -> dict[str, Any]:
    """A new draft for a community: generated afresh, rebalanced from the grids in force, or a copy of them to edit."""
    if method not in ("generate", "rebalance", "copy"):
        raise InvalidParameter("method", f"method is generate, rebalance or copy; got {method!r}.")
    settings = Settings.of(session, grid, micro)
    com = _community(session, layer, community)
    if method == "generate":
        plan = com.ground.generate(settings.grid, settings.micro, community, previous=com.published, digits=settings.digits)
    elif method == "rebalance":
        if not com.published:
            raise InvalidParameter("method", f"community {community} has no grids in force to rebalance; generate instead.")
        plan = com.ground.rebalance(com.published, settings.grid, settings.micro, community, digits=settings.digits)
    else:
        if not com.published:
            raise InvalidParameter("method", f"community {community} has no grids in force to copy; generate instead.")
        plan = _evaluate(com, {u: g for u, (g, _) in com.published.items()}, settings)
    assignment, metrics, problems = _plan_json(plan)
    now = clock.now()
    layer_id = session.scalar(select(Layer.id).where(Layer.code == layer))
    draft = PlanDraft(layer_id=layer_id, community_code=community, base_version_id=com.version_id, status="draft",
                      method=method, settings=settings.as_json(), assignment=assignment, metrics=metrics, problems=problems,
                      created_by=principal.name if principal else "cli", created_at=now, updated_at=now)
    session.add(draft)
    session.flush()
    return _answer(session, draft, com, plan, settings)


def _complete(com: Community, grid_of: dict[str, str], settings: Settings) -> dict[str, str]:
    """Every building's grid: buildings new since the grids were drawn join the grid beside them."""
    if all(c in grid_of for c in com.ground.codes):
        return dict(grid_of)
    labels = com.ground.labels_of(grid_of)
    names = sorted(set(grid_of.values()))
    adopted = adopt_unplaced(com.ground.graph, labels)
    extra = _fresh_code(com.code, set(names) | {g for g, _ in com.published.values()}, settings.digits[0])  # ground no grid touches
    return {c: (names[adopted[k]] if adopted[k] < len(names) else extra) for k, c in enumerate(com.ground.codes)}


def _evaluate(com: Community, grid_of: dict[str, str], settings: Settings, micro_of: dict[str, tuple[str, str]] | None = None) -> Plan:
    """The plan of an assignment, scored, with grid statuses and retired codes against the version in force.

    Grids unchanged against `micro_of` (the draft) keep its micro-grids."""
    previous = micro_of if micro_of is not None else com.published
    plan = com.ground.evaluate(_complete(com, grid_of, settings), settings.grid, settings.micro, com.code,
                               previous=previous, digits=settings.digits)
    if micro_of is not None:
        for area in plan.grids:
            area.status = _status_against(area, com.published)
        plan.retired = sorted({g for g, _ in com.published.values()} - {a.code for a in plan.grids})
    return plan


def _draft(session: Session, draft_id: int, *, editable: bool = False) -> PlanDraft:
    draft = session.get(PlanDraft, draft_id)
    if draft is None:
        raise NotFound(f"no plan draft {draft_id}.")
    if editable and draft.status != "draft":
        raise Conflict(f"plan draft {draft_id} is {draft.status}; make a new draft to change it.")
    return draft


def _layer_code(session: Session, draft: PlanDraft) -> str:
    return session.scalar(select(Layer.code).where(Layer.id == draft.layer_id))


def _current(session: Session, draft: PlanDraft) -> tuple[Community, Plan, Settings]:
    com = _community(session, _layer_code(session, draft), draft.community_code)
    settings = Settings.from_json(draft.settings)
    plan = _evaluate(com, _grids_of(draft), settings, _micro_of(draft))
    return com, plan, settings


def _grids_of(draft: PlanDraft) -> dict[str, str]:
    return {u: v[0] for u, v in draft.assignment.items()}


def _micro_of(draft: PlanDraft) -> dict[str, tuple[str, str]]:
    return {u: (v[0], v[1]) for u, v in draft.assignment.items()}


def _status_against(area, published: dict[str, tuple[str, str]]) -> str:
    before = {u for u, (g, _) in published.items() if g == area.code}
    if not before:
        return "new"
    return "unchanged" if before == set(area.units) else "changed"


def get_draft(session: Session, draft_id: int) -> dict[str, Any]:
    draft = _draft(session, draft_id)
    com, plan, settings = _current(session, draft)
    return _answer(session, draft, com, plan, settings)


def list_drafts(session: Session, community: str | None = None) -> list[dict[str, Any]]:
    stmt = select(PlanDraft).order_by(PlanDraft.id.desc())
    if community:
        stmt = stmt.where(PlanDraft.community_code == community)
    return [_summary(d) for d in session.scalars(stmt.limit(200))]


def _summary(draft: PlanDraft) -> dict[str, Any]:
    return {
        "id": draft.id, "community": draft.community_code, "status": draft.status, "method": draft.method,
        "revision": draft.revision, "settings": draft.settings, "metrics": draft.metrics or {},
        "created_by": draft.created_by, "created_at": draft.created_at.isoformat(), "updated_at": draft.updated_at.isoformat(),
        "published_version": draft.published_version_id,
    }


def draft_geojson(session: Session, draft_id: int, which: str = "draft") -> dict[str, Any]:
    """The draft's grids and micro-grids, or the version in force's over the same community (for the diff map)."""
    draft = _draft(session, draft_id)
    com = _community(session, _layer_code(session, draft), draft.community_code)
    settings = Settings.from_json(draft.settings)
    if which == "draft":
        return _evaluate(com, _grids_of(draft), settings, _micro_of(draft)).geojson()
    if which == "published":
        hh: dict[str, int] = {}
        for u, (g, _) in com.published.items():
            hh[g] = hh.get(g, 0) + com.ground.units[com.ground.position[u]].households
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": shapely.geometry.mapping(geom),
             "properties": {"code": code, "level": "grid", "households": hh.get(code, 0)}}
            for code, geom in sorted(com.grid_geoms.items())]}
    if which == "buildings":  # the draft's own assignment: no need to draw its boundaries
        grid_of = _complete(com, _grids_of(draft), settings)
        micro_of = _micro_of(draft)
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": shapely.geometry.mapping(shapely.point_on_surface(u.geometry)),
             "properties": {"code": u.code, "level": "building", "households": u.households,
                            "grid": grid_of[u.code], "micro_grid": micro_of.get(u.code, (None, ""))[1]}}
            for u in com.ground.units]}
    raise InvalidParameter("which", f"which is draft, published or buildings; got {which!r}.")


def communities(session: Session, layer: str) -> list[dict[str, Any]]:
    """The communities of the version in force, for a planner to choose from."""
    version = version_in_force(session, layer, clock.now())
    if version is None:
        return []
    rows = session.execute(select(Area.code, Area.name, Area.households)
                           .where(Area.version_id == version.id, Area.level == "community").order_by(Area.code)).all()
    return [{"code": c, "name": n, "households": h} for c, n, h in rows]


# --- edits --------------------------------------------------------------------------


def edit_draft(session: Session, draft_id: int, edit: dict[str, Any], principal: Principal | None = None) -> dict[str, Any]:
    """Apply one edit and answer the draft as it now stands, checked, with its impact."""
    draft = _draft(session, draft_id, editable=True)
    if edit.get("revision") is not None and int(edit["revision"]) != draft.revision:
        raise Conflict(f"plan draft {draft_id} is at revision {draft.revision}, not {edit['revision']}: someone edited it meanwhile; reload it.")
    com = _community(session, _layer_code(session, draft), draft.community_code)
    settings = Settings.from_json(draft.settings)
    grid_of = _complete(com, _grids_of(draft), settings)
    grids: dict[str, list[str]] = {}  # grid code -> its buildings
    for building, grid in grid_of.items():
        grids.setdefault(grid, []).append(building)
    op = edit.get("op")
    if op == "move":
        codes = edit.get("buildings") or []
        target = edit.get("to")
        unknown = [c for c in codes if c not in grid_of]
        if not codes or unknown:
            raise InvalidParameter("buildings", f"name the buildings to move; unknown: {', '.join(unknown[:5])}." if unknown
                                   else "name the buildings to move.")
        if target not in grids:
            raise InvalidParameter("to", f"no grid {target!r} in this draft; grids are {', '.join(sorted(grids)[:8])}….")
        for c in codes:
            grid_of[c] = target
    elif op == "split":
        code = edit.get("grid")
        if code not in grids:
            raise InvalidParameter("grid", f"no grid {code!r} in this draft.")
        units = np.asarray([com.ground.position[u] for u in grids[code]])
        households = int(com.ground.graph.households[units].sum())
        k, _ = grid_count(households, settings.grid)
        k = max(int(edit.get("parts") or max(k, 2)), 2)
        if len(units) < k:
            raise InvalidParameter("parts", f"grid {code} has {len(units)} building(s); it cannot make {k} grids.")
        pieces, _ = partition(com.ground.graph, units, Bounds(households // (k + 1), households))
        if len(pieces) < 2:
            pieces = _halves(com, units, k)
        taken = set(grids) | {g for g, _ in com.published.values()}
        for piece in sorted(pieces, key=lambda p: -int(com.ground.graph.households[p].sum()))[1:]:
            fresh = _fresh_code(com.code, taken, settings.digits[0])
            taken.add(fresh)
            for u in piece.tolist():
                grid_of[com.ground.codes[u]] = fresh
    elif op == "merge":
        pair = edit.get("grids") or []
        if len(pair) < 2 or any(c not in grids for c in pair):
            raise InvalidParameter("grids", "name two or more grids of this draft to merge; the first keeps its code.")
        for c, g in grid_of.items():
            if g in pair[1:]:
                grid_of[c] = pair[0]
    elif op == "redraw":
        code = edit.get("grid")
        if code not in grids:
            raise InvalidParameter("grid", f"no grid {code!r} in this draft.")
        try:
            drawn = geojson_shape(edit.get("polygon"))
        except Exception:  # shapely raises several kinds on a malformed mapping
            raise InvalidParameter("polygon", "polygon must be a GeoJSON Polygon in lon/lat.") from None
        if drawn.geom_type not in ("Polygon", "MultiPolygon") or not drawn.is_valid or drawn.is_empty:
            raise InvalidParameter("polygon", "polygon must be a valid GeoJSON Polygon (closed ring, not self-crossing).")
        inside = [u for u in com.ground.units if drawn.contains(u.geometry.representative_point())]
        if not inside:
            raise InvalidParameter("polygon", "the drawn polygon holds no building's entrance; boundaries follow buildings.")
        for u in inside:
            grid_of[u.code] = code
    else:
        raise InvalidParameter("op", f"op is one of {', '.join(EDIT_OPS)}; got {op!r}.")
    edited = _evaluate(com, grid_of, settings, _micro_of(draft))
    draft.assignment, draft.metrics, _ = _plan_json(edited)
    draft.problems = []
    draft.updated_at = clock.now()
    session.flush()  # the revision moves on here; a planner who saved first wins, the other gets 409
    return _answer(session, draft, com, edited, settings)


def _halves(com: Community, units: np.ndarray, k: int) -> list[np.ndarray]:
    """Even household shares along the grid's long axis, when no cut within bounds exists."""
    xy = com.ground.graph.xy[units]
    axis = int(np.ptp(xy[:, 1]) > np.ptp(xy[:, 0]))
    order = units[np.argsort(xy[:, axis])]
    cum = np.cumsum(com.ground.graph.households[order])
    cuts = [int(np.searchsorted(cum, cum[-1] * j / k)) + 1 for j in range(1, k)]
    return [p for p in np.split(order, cuts) if len(p)]


def _fresh_code(prefix: str, taken: set[str], digits: int = 3) -> str:
    numbers = [int(c[len(prefix):]) for c in taken if c.startswith(prefix) and c[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:0{digits}d}"


# --- checks and impact --------------------------------------------------------------


def _checks(com: Community, plan: Plan, settings: Settings) -> list[dict[str, Any]]:
    """Everything a planner must see about a draft, as findings with a place to go to."""
    out: list[dict[str, Any]] = list(plan.problems)
    for a in plan.grids:
        where = _inside(a.geometry)
        if not a.within_bounds:
            side = "under" if a.households < settings.grid.lo else "over"
            out.append({"kind": f"households_{side}", "level": "grid", "codes": [a.code], "location": where,
                        "message": f"grid {a.code} holds {a.households} households, {side} the {settings.grid.lo}-{settings.grid.hi} bounds."})
        if not a.contiguous:
            out.append({"kind": "not_contiguous", "level": "grid", "codes": [a.code], "location": where,
                        "message": f"grid {a.code} falls into {len(shapely.get_parts(a.geometry))} separate pieces."})
        if a.polsby_popper < 0.3:
            out.append({"kind": "not_compact", "level": "grid", "codes": [a.code], "location": where,
                        "message": f"grid {a.code} is stretched or ragged (Polsby-Popper {a.polsby_popper:.2f}; a square is 0.79)."})
    proj = com.ground.proj
    for p in coverage_problems([a.code for a in plan.grids], [a.geometry for a in plan.grids], com.polygon, 1.0, proj):
        text = (f"grids {p.codes[0]} and {p.codes[1]} overlap by {p.area_m2:,.1f} m²." if p.kind == "overlap"
                else f"a gap of {p.area_m2:,.1f} m² inside community {com.code} is in no grid.")
        out.append({"kind": p.kind, "level": "grid", "codes": list(p.codes), "location": [round(p.point[0], 7), round(p.point[1], 7)],
                    "message": text})
    for a in plan.grids:
        kids = [m for m in plan.micro_grids if m.parent_code == a.code]
        for p in coverage_problems([m.code for m in kids], [m.geometry for m in kids], a.geometry, 1.0, proj):
            out.append({"kind": f"micro_{p.kind}", "level": "micro_grid", "codes": list(p.codes) or [a.code],
                        "location": [round(p.point[0], 7), round(p.point[1], 7)],
                        "message": f"micro-grids of {a.code}: {p.kind} of {p.area_m2:,.1f} m² (micro-grids must tile their grid)."})
    return out


def _inside(geom: BaseGeometry) -> list[float]:
    p = shapely.point_on_surface(geom)
    return [round(p.x, 7), round(p.y, 7)]


def impact(session: Session, com: Community, plan: Plan, digits: int = 3) -> dict[str, Any]:
    """What publishing the plan would change, against the version in force."""
    hh = {u.code: u.households for u in com.ground.units}
    moved = [u for u, (g, _) in plan.assignment.items() if com.published.get(u, (g,))[0] != g]
    total = sum(hh.values()) or 1
    now = clock.now()
    kept = {a.code for a in plan.grids}
    changed = {a.code for a in plan.grids if a.status != "unchanged"}
    work = session.execute(
        select(Assignment.area_code, Assignment.duty, Worker.code, Worker.name)
        .join(Worker, Worker.id == Assignment.worker_id)
        .where(Assignment.layer_id == com.layer_id, Assignment.area_code.like(f"{com.code}%"), Assignment.valid_from <= now,
               (Assignment.valid_to.is_(None)) | (Assignment.valid_to > now))
        .order_by(Assignment.area_code, Assignment.duty)
    ).all()
    workers = []
    for area, duty, code, name in work:
        if len(area) < len(com.code) + digits:
            continue  # community staff answer for the community, which a plan does not redraw
        grid = area[: len(com.code) + digits]
        if grid not in kept:
            workers.append({"worker": code, "name": name, "duty": duty, "area": area, "change": "retired",
                            "message": f"{name} ({duty}) answers for {area}, which the plan retires: assign them anew."})
        elif grid in changed:
            workers.append({"worker": code, "name": name, "duty": duty, "area": area, "change": "redrawn",
                            "message": f"{name} ({duty}) keeps {grid}, whose ground changes."})
    unstaffed = sorted(a.code for a in plan.grids if a.status == "new" and not any(w[0].startswith(a.code) for w in work))

    tree = shapely.STRtree([a.geometry for a in plan.grids])
    codes = [a.code for a in plan.grids]

    def new_grid(point: BaseGeometry) -> str | None:
        hit = tree.query(point, predicate="intersects")
        return codes[int(hit[0])] if len(hit) else None

    grid_area = Area.__table__.alias("g")
    rows = session.execute(
        select(Incident.id, Incident.status, Incident.location.ST_AsBinary(), grid_area.c.code, Worker.code)
        .join(grid_area, grid_area.c.id == Incident.grid_id)
        .outerjoin(Worker, Worker.id == Incident.assignee_id)
        .where(grid_area.c.code.like(f"{com.code}%"), Incident.status.not_in(CLOSED))
    ).all()
    incidents = []
    for iid, status, wkb, old, assignee in rows:
        new = new_grid(shapely.from_wkb(bytes(wkb)))
        if new is not None and new != old:
            incidents.append({"id": str(iid), "status": status, "from": old, "to": new, "assignee": assignee})
    patrol_rows = session.execute(
        select(Task.id, Task.area_code, Task.scheduled_for, Building.code)
        .join(Building, Building.id == Task.building_id)
        .where(Task.kind == "patrol", Task.status.in_(TASK_ACTIVE), Task.area_code.like(f"{com.code}%"))
    ).all()
    visits = []
    for tid, old, when, bcode in patrol_rows:
        new = plan.assignment.get(bcode, (old,))[0]
        if new != old:
            visits.append({"task": tid, "building": bcode, "from": old, "to": new,
                           "scheduled_for": when.isoformat() if when else None})
    return {
        "households_moved": sum(hh[u] for u in moved),
        "households_keep_grid": round(1 - sum(hh[u] for u in moved) / total, 4),
        "buildings_moved": len(moved),
        "grids": {"unchanged": sum(a.status == "unchanged" for a in plan.grids),
                  "changed": sum(a.status == "changed" for a in plan.grids),
                  "new": sum(a.status == "new" for a in plan.grids), "retired": plan.retired},
        "workers": workers,
        "grids_without_worker": unstaffed,
        "open_incidents": incidents,
        "patrol_visits": visits,
    }


def _answer(session: Session, draft: PlanDraft, com: Community, plan: Plan, settings: Settings,
            checks: list[dict[str, Any]] | None = None, effect: dict[str, Any] | None = None) -> dict[str, Any]:
    """The draft as the planner sees it; `checks` and `effect` when the caller has them already."""
    out = _summary(draft)
    out["metrics"] = plan.metrics
    out["checks"] = _checks(com, plan, settings) if checks is None else checks
    out["impact"] = impact(session, com, plan, settings.digits[0]) if effect is None else effect
    out["grids"] = [{"code": a.code, "households": a.households, "buildings": len(a.units),
                     "micro_grids": sum(m.parent_code == a.code for m in plan.micro_grids),
                     "polsby_popper": round(a.polsby_popper, 3), "contiguous": a.contiguous,
                     "within_bounds": a.within_bounds, "status": a.status,
                     **({"street_share": round(a.street_share, 3)} if a.street_share is not None else {})}
                    for a in plan.grids]
    out["community_name"] = com.name
    return out


# --- publishing ---------------------------------------------------------------------


def publish_draft(session: Session, ctx: Context, draft_id: int, principal: Principal | None, effective: datetime | None = None,
                  accept_warnings: bool = False) -> dict[str, Any]:
    """The draft becomes the next version of its layer from `effective` (default now); all or nothing.

    A draft whose checks find anything (a grid out of bounds, in pieces,
    ragged; a tower no plan can fit) is published only when the planner says
    so, as with a boundary file's warnings.
    """
    draft = _draft(session, draft_id, editable=True)
    effective = effective or clock.now()
    layer = _layer_code(session, draft)
    com, plan, settings = _current(session, draft)
    checks = _checks(com, plan, settings)
    if checks and not accept_warnings:
        raise ImportRefused(
            f"plan draft {draft_id} has {len(checks)} finding(s) and accept_warnings was not given; nothing was published. "
            f"First: {checks[0]['message']}", report={"warnings": checks[:50]})
    base = version_in_force(session, layer, effective)
    if base is None or base.id != com.version_id:
        raise Conflict(f"the version in force at {effective.isoformat()} is not the one this draft was checked against; "
                       "make a new draft from it.")
    records = [r for r in version_records(session, base.id)
               if not (r.code.startswith(com.code) and r.level in ("grid", "micro_grid"))]
    records += [AreaRecord(a.code, a.code, a.level, a.parent_code, a.households, as_multipolygon(a.geometry))
                for a in plan.grids + plan.micro_grids]
    for r in records:
        if r.code == com.code:
            r.households = sum(a.households for a in plan.grids)
    findings = [f for f in validate_tree(records, level_rules(session), 1.0) if f.severity == "error"]
    if findings:
        raise ImportRefused(f"plan draft {draft_id}: {len(findings)} error(s); nothing was published. First: {findings[0].message}",
                            report={"errors": [f.as_json() for f in findings[:50]]})
    effect = impact(session, com, plan, settings.digits[0])
    version = store_version(session, records, layer, effective=effective, source=f"plan draft {draft_id}",
                            note=f"community {com.code} redrawn: {len(plan.grids)} grids, {len(plan.micro_grids)} micro-grids",
                            created_by=principal.name if principal else "cli")
    at = clock.now()
    number = version.number
    # open incidents stay with their assignee until closed; their history says what changed
    for item in effect["open_incidents"]:
        incident = session.get(Incident, int(item["id"]))
        holder = item["assignee"] or "its current handler"
        record(session, incident, "comment", None, principal, at=at,
               note=f"boundaries {layer} v{number} from {effective.isoformat()}: this place is now in grid {item['to']}; "
                    f"the incident stays with {holder} until closed.",
               data={"regrid": {"from": item["from"], "to": item["to"], "version": number}})
    # patrol visits from the effective time go to their door's new grid and its visitor
    moved_visits = 0
    for item in effect["patrol_visits"]:
        task = session.get(Task, item["task"])
        if task.scheduled_for is not None and task.scheduled_for < effective:
            continue
        task.area_code = item["to"]
        visitor = _visitor_of(session, layer, item["to"], effective)
        if visitor is not None:
            task.worker_id = visitor
        moved_visits += 1
    # the workers of retired grids stop answering for them at the effective time
    ended = 0
    for w in effect["workers"]:
        if w["change"] == "retired":
            for a in session.scalars(select(Assignment).where(Assignment.layer_id == com.layer_id, Assignment.area_code == w["area"],
                                                              Assignment.valid_to.is_(None))):
                a.valid_to = effective
                ended += 1
    draft.status = "published"
    draft.published_version_id = version.id
    draft.updated_at = at
    session.flush()
    out = _answer(session, draft, com, plan, settings, checks, effect)  # what was checked and moved, as it stood
    out["published"] = {"layer": layer, "version": number, "effective_from": effective.isoformat(),
                        "incidents_noted": len(effect["open_incidents"]), "patrol_visits_moved": moved_visits,
                        "assignments_ended": ended}
    return out


def _visitor_of(session: Session, layer: str, grid: str, at: datetime) -> int | None:
    for duty in ("primary", "backup", "leader"):
        found = session.scalar(
            select(Assignment.worker_id).join(Layer, Layer.id == Assignment.layer_id)
            .where(Layer.code == layer, Assignment.area_code == grid, Assignment.duty == duty, Assignment.valid_from <= at,
                   (Assignment.valid_to.is_(None)) | (Assignment.valid_to > at)).limit(1))
        if found is not None:
            return found
    return None


def discard_draft(session: Session, draft_id: int) -> dict[str, Any]:
    draft = _draft(session, draft_id, editable=True)
    draft.status = "discarded"
    draft.updated_at = clock.now()
    session.flush()
    return _summary(draft)
