"""Everything a planner must see about a plan, as findings with a place to go to: the
problems no cut could avoid, grids outside their household bounds, in pieces or ragged,
gaps and overlaps between grids, and micro-grids that do not tile their grid."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from gridops.geo.crs import LocalProjection
from gridops.geo.districting import Bounds
from gridops.geo.plan import Plan
from gridops.geo.validate import coverage_problems

RAGGED_BELOW = 0.3  # Polsby-Popper under this reads as stretched or ragged (a square is 0.79)


def inside(geom: BaseGeometry) -> list[float]:
    """A point inside the geometry, to send the map to."""
    p = shapely.point_on_surface(geom)
    return [round(p.x, 7), round(p.y, 7)]


def plan_checks(plan: Plan, bounds: Bounds, community: BaseGeometry, community_code: str,
                proj: LocalProjection) -> list[dict[str, Any]]:
    """The findings of a plan of one community's grids (`bounds`: a grid's households); each with the
    figures its sentence is made of (`values`), so a page can say it in its reader's language with names."""
    out: list[dict[str, Any]] = list(plan.problems)
    for a in plan.grids:
        where = inside(a.geometry)
        if not a.within_bounds:
            side = "under" if a.households < bounds.lo else "over"
            out.append({"kind": f"households_{side}", "level": "grid", "codes": [a.code], "location": where,
                        "values": {"households": a.households, "lo": bounds.lo, "hi": bounds.hi},
                        "message": f"grid {a.code} holds {a.households} households, {side} the {bounds.lo}-{bounds.hi} bounds."})
        if not a.contiguous:
            out.append({"kind": "not_contiguous", "level": "grid", "codes": [a.code], "location": where,
                        "values": {"pieces": len(shapely.get_parts(a.geometry))},
                        "message": f"grid {a.code} falls into {len(shapely.get_parts(a.geometry))} separate pieces."})
        if a.polsby_popper < RAGGED_BELOW:
            out.append({"kind": "not_compact", "level": "grid", "codes": [a.code], "location": where,
                        "values": {"polsby_popper": round(a.polsby_popper, 2)},
                        "message": f"grid {a.code} is stretched or ragged (Polsby-Popper {a.polsby_popper:.2f}; a square is 0.79)."})
    for p in coverage_problems([a.code for a in plan.grids], [a.geometry for a in plan.grids], community, 1.0, proj):
        text = (f"grids {p.codes[0]} and {p.codes[1]} overlap by {p.area_m2:,.1f} m²." if p.kind == "overlap"
                else f"a gap of {p.area_m2:,.1f} m² inside community {community_code} is in no grid.")
        out.append({"kind": p.kind, "level": "grid", "codes": list(p.codes), "location": [round(p.point[0], 7), round(p.point[1], 7)],
                    "values": {"area_m2": round(p.area_m2, 1)}, "message": text})
    for a in plan.grids:
        kids = [m for m in plan.micro_grids if m.parent_code == a.code]
        for p in coverage_problems([m.code for m in kids], [m.geometry for m in kids], a.geometry, 1.0, proj):
            out.append({"kind": f"micro_{p.kind}", "level": "micro_grid", "codes": list(p.codes) or [a.code],
                        "location": [round(p.point[0], 7), round(p.point[1], 7)], "values": {"area_m2": round(p.area_m2, 1)},
                        "message": f"micro-grids of {a.code}: {p.kind} of {p.area_m2:,.1f} m² (micro-grids must tile their grid)."})
    return out
