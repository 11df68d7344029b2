"""How one layer's areas are cut by another's (三格融合): for each area of A, its share of ground
and of households in each area of B."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.crs import local_projection

from gridops.boundaries.areas import version_in_force
from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import Area, AreaLevel, Building
from gridops.core.words import Say


def misfit(session: Session, layer_a: str, layer_b: str, *, level_a: str | None = None, level_b: str | None = None,
           at: datetime | None = None) -> list[dict[str, Any]]:
    """For each area of A, how B's boundaries split it: share of its ground and of its households.

    Households are counted from the buildings (their entrance points); an area
    with no buildings in it reports the area share for households too.
    """
    va, vb = version_in_force(session, layer_a, at), version_in_force(session, layer_b, at)
    for name, v in ((layer_a, va), (layer_b, vb)):
        if v is None:
            raise NotFound(Say("no boundary version of layer %(name)r is in force at that time.", name=name))
    assert va is not None and vb is not None  # refused just above
    a_codes, a_geoms, la = _finest(session, va.id, level_a)
    b_codes, b_geoms, lb = _finest(session, vb.id, level_b)
    buildings = session.execute(select(Building.households, Building.location.ST_AsBinary())).all()
    b_points = shapely.from_wkb([bytes(w) for _, w in buildings]) if buildings else np.empty(0, dtype=object)
    b_households = np.array([h for h, _ in buildings], dtype=float)
    proj = local_projection(tuple(shapely.total_bounds(np.asarray(a_geoms + b_geoms, dtype=object))))
    tree_b = shapely.STRtree(b_geoms)
    tree_pts = shapely.STRtree(b_points) if len(b_points) else None
    rows: list[dict[str, Any]] = []
    for code, geom in zip(a_codes, a_geoms, strict=True):
        total_area = proj.area_m2(geom)
        in_a = tree_pts.query(geom, predicate="covers") if tree_pts is not None else np.empty(0, dtype=np.int64)
        total_hh = float(b_households[in_a].sum()) if in_a.size else 0.0
        pieces = []
        for j in tree_b.query(geom, predicate="intersects"):
            piece = shapely.intersection(geom, b_geoms[j])
            area = proj.area_m2(piece) if not piece.is_empty else 0.0
            if area <= 0.01:
                continue
            if total_hh > 0:
                in_piece = in_a[shapely.covers(piece, b_points[in_a])] if in_a.size else in_a
                hh_share = float(b_households[in_piece].sum()) / total_hh
            else:
                hh_share = area / total_area
            pieces.append({"code": b_codes[j], "area_share": round(area / total_area, 4), "household_share": round(hh_share, 4)})
        pieces.sort(key=lambda p: -p["area_share"])
        covered = sum(p["area_share"] for p in pieces)
        rows.append({
            "code": code, "level": la, "area_m2": round(total_area, 1), "households": int(total_hh),
            "split_into": len(pieces), "largest_share": pieces[0]["area_share"] if pieces else 0.0,
            "uncovered_share": round(max(0.0, 1.0 - covered), 4), "parts": pieces, "other_level": lb,
        })
    return rows


def _finest(session: Session, version_id: int, level: str | None) -> tuple[list[str], list[BaseGeometry], str]:
    if level is None:
        level = session.scalar(
            select(Area.level).join(AreaLevel, AreaLevel.code == Area.level)
            .where(Area.version_id == version_id).order_by(AreaLevel.depth.desc()).limit(1)
        )
    rows = session.execute(
        select(Area.code, Area.geom.ST_AsBinary()).where(Area.version_id == version_id, Area.level == level).order_by(Area.code)
    ).all()
    if not rows:
        raise InvalidParameter("level", Say("no areas of level %(level)r in that layer.", level=level))
    assert level is not None  # a level of None matches no area (the column is NOT NULL): refused above
    return [r[0] for r in rows], list(shapely.from_wkb([bytes(r[1]) for r in rows])), level
