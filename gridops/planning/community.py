"""One community as the version in force has it, ready to plan: its polygon, its buildings
and their households, the streets and barriers near it, and which grid and micro-grid
each building is in today; and the household bounds a plan is held to."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridops.geo.districting import Bounds
from gridops.geo.plan import Ground, PlanError, Unit

from gridops.boundaries.areas import version_in_force
from gridops.core import clock
from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import Area, AreaLevel, Building, Road
from gridops.core.words import Say

BARRIER_KINDS = ("river", "railway", "rail", "canal", "barrier", "wall")


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
                raise InvalidParameter(f"{level}_households", Say("%(level)s bounds must be 1 <= min <= max; got "
                                                                  "%(lo)s-%(hi)s.",
                                                                  level=level, lo=lo, hi=hi))
            return lo, hi

        g = pick("grid", grid, (300, 500))
        m = pick("micro_grid", micro, (50, 80))
        grid_digits, micro_digits = (levels[lv].code_digits if lv in levels else 3 for lv in ("grid", "micro_grid"))
        return cls(Bounds(*g), Bounds(*m, exempt_single=True), (grid_digits, micro_digits))

    def as_json(self) -> dict[str, Any]:
        return {"grid_households": [self.grid.lo, self.grid.hi], "micro_households": [self.micro.lo, self.micro.hi],
                "code_digits": list(self.digits)}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Settings:
        micro_lo, micro_hi = doc["micro_households"]
        return cls(Bounds(*doc["grid_households"]), Bounds(micro_lo, micro_hi, exempt_single=True),
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
    names: dict[str, str] = field(default_factory=dict)  # grid and micro-grid code -> its name in force

    def name_of(self, code: str) -> str:
        """The name a grid or micro-grid of a plan is shown and published with: its name in force, else one made
        the way the city names its grids (社区 short name + 第N网格, N-M微网格), so no person ever sees a bare code."""
        if code in self.names:
            return self.names[code]
        short = self.name.removesuffix("社区") or self.code
        tail = code[len(self.code):]
        if not tail.isdigit():
            return code
        if len(tail) <= 3:
            return f"{short}第{int(tail)}网格"
        return f"{short}{int(tail[:3])}-{int(tail[3:])}微网格"


_GROUNDS: OrderedDict[tuple, Ground] = OrderedDict()
_GROUNDS_LOCK = threading.Lock()


def load_community(session: Session, layer: str, code: str) -> Community:
    version = version_in_force(session, layer, clock.now())
    if version is None:
        raise NotFound(Say("layer %(layer)s has no published boundaries yet.", layer=layer))
    row = session.execute(
        select(Area.id, Area.name, Area.level, Area.geom.ST_AsBinary()).where(Area.version_id == version.id, Area.code == code)
    ).first()
    if row is None:
        raise NotFound(Say("no area %(code)s in %(layer)s version %(number)s.", code=code, layer=layer, number=version.number))
    if row[2] != "community":
        raise InvalidParameter("community", Say("%(code)s is a %(row)s, not a community; plans are drawn per community.",
                                                code=code, row=row[2]))
    polygon = shapely.from_wkb(bytes(row[3]))
    kids = session.execute(
        select(Area.id, Area.code, Area.level, Area.parent_id, Area.geom.ST_AsBinary(), Area.name)
        .where(Area.version_id == version.id, Area.code.like(f"{code}%"), Area.level.in_(("cluster", "grid", "micro_grid")))
    ).all()
    if any(k[2] == "cluster" for k in kids):
        raise InvalidParameter("community", Say("community %(code)s groups its grids into clusters (小分格); plans are drawn "
                                                "for communities whose grids sit directly under them.",
                                                code=code))
    buildings = session.execute(
        select(Building.id, Building.code, Building.households, Building.location.ST_AsBinary(), Building.footprint.ST_AsBinary())
        .where(func.ST_Intersects(Building.location, func.ST_GeomFromWKB(polygon.wkb, 4326)))
        .order_by(Building.code)
    ).all()
    if not buildings:
        raise InvalidParameter("community", Say("community %(code)s has no buildings to plan.", code=code))
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
                     {k[1]: shapely.from_wkb(bytes(k[4])) for k in grids}, {b[1]: b[0] for b in buildings},
                     {k[1]: k[5] for k in kids if k[5]})


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


def communities(session: Session, layer: str) -> list[dict[str, Any]]:
    """The communities of the version in force, for a planner to choose from."""
    version = version_in_force(session, layer, clock.now())
    if version is None:
        return []
    rows = session.execute(select(Area.code, Area.name, Area.households)
                           .where(Area.version_id == version.id, Area.level == "community").order_by(Area.code)).all()
    return [{"code": c, "name": n, "households": h} for c, n, h in rows]
