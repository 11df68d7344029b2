"""Does a set of sibling areas tile its parent: gaps and overlaps, in square metres.

Each finding carries its area and a point inside it, so a planner can go to the
spot. Measured in a local metric projection, never in square degrees.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridops.geo.crs import LocalProjection, local_projection

__all__ = ["CoverageProblem", "coverage_problems", "LevelRule", "AreaRecord", "Finding", "validate_tree"]


@dataclass(frozen=True)
class CoverageProblem:
    kind: str  # "gap" or "overlap"
    area_m2: float
    point: tuple[float, float]  # lon, lat of a point inside the problem
    codes: tuple[str, ...]  # the areas that overlap (empty for a gap)


def coverage_problems(
    codes: Sequence[str],
    polygons: Sequence[BaseGeometry],
    container: BaseGeometry | None = None,
    min_area_m2: float = 0.0,
    proj: LocalProjection | None = None,
) -> list[CoverageProblem]:
    """Every overlap between two of `polygons`, and every gap they leave inside `container`.

    Problems of `min_area_m2` or less are left out (floating-point slivers).
    `proj` lets a caller checking many groups measure them all in one projection.
    """
    if not polygons:
        return []
    if proj is None:
        everything = list(polygons) + ([container] if container is not None else [])
        proj = local_projection(tuple(shapely.total_bounds(np.asarray(everything, dtype=object))))
    metric = np.asarray([proj.to_metric(p) for p in polygons], dtype=object)
    problems: list[CoverageProblem] = []

    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i >= j:
            continue
        shared = shapely.intersection(metric[i], metric[j])
        for part in _areal_parts(shared):
            if part.area > min_area_m2:
                problems.append(_problem("overlap", part, proj, (codes[i], codes[j])))

    if container is not None:
        missing = shapely.difference(proj.to_metric(container), shapely.union_all(metric))
        for part in _areal_parts(missing):
            if part.area > min_area_m2:
                problems.append(_problem("gap", part, proj, ()))
    return sorted(problems, key=lambda p: -p.area_m2)


def _areal_parts(geom: BaseGeometry) -> list[BaseGeometry]:
    return [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]


def _problem(kind: str, part: BaseGeometry, proj: LocalProjection, codes: tuple[str, ...]) -> CoverageProblem:
    inside = proj.to_wgs84(shapely.point_on_surface(part))
    return CoverageProblem(kind, float(part.area), (inside.x, inside.y), codes)


# --- a whole tree of areas, before it is stored ----------------------------------

_REASON_AT = re.compile(r"\[(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)\]")


@dataclass(frozen=True)
class LevelRule:
    code: str
    depth: int
    code_digits: int
    households_min: int | None = None
    households_max: int | None = None


@dataclass
class AreaRecord:
    code: str
    name: str
    level: str
    parent_code: str | None
    households: int | None
    geometry: BaseGeometry | None
    carried: bool = False  # copied from the version in force, not from the file


@dataclass(frozen=True)
class Finding:
    severity: str  # error, warning
    kind: str
    message: str
    codes: tuple[str, ...] = ()
    location: tuple[float, float] | None = None
    area_m2: float | None = None
    repairable: bool | None = None

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"severity": self.severity, "kind": self.kind, "message": self.message, "codes": list(self.codes)}
        if self.location is not None:
            out["location"] = [round(self.location[0], 7), round(self.location[1], 7)]
        if self.area_m2 is not None:
            out["area_m2"] = round(self.area_m2, 2)
        if self.repairable is not None:
            out["repairable"] = self.repairable
        return out


def validate_tree(records: list[AreaRecord], rules: dict[str, LevelRule], tolerance_m2: float = 1.0) -> list[Finding]:
    """Everything wrong with a tree of areas, as findings a planner can act on.

    Resolves missing parent codes by containment (in place). Errors: unknown
    levels, bad or invalid geometry, duplicate codes, missing parents, codes
    that do not extend their parent's, children outside their parent, gaps and
    overlaps between siblings. Warnings: household counts outside a level's
    bounds, and parents whose households differ from their children's sum.
    """
    findings: list[Finding] = []
    usable: list[AreaRecord] = []
    # one projection for the whole tree: a city spans tens of km, where its scale error is ~1e-5
    shapes = np.asarray([r.geometry for r in records if r.geometry is not None and not r.geometry.is_empty], dtype=object)
    proj = local_projection(tuple(shapely.total_bounds(shapes))) if len(shapes) else None
    seen: dict[str, AreaRecord] = {}
    for r in records:
        if r.level not in rules:
            findings.append(Finding(
                "error", "unknown_level",
                f"area {r.code} has level {r.level!r}; levels are {', '.join(sorted(rules))}.",
                (r.code,),
            ))
            continue
        if r.code in seen:
            findings.append(Finding("error", "duplicate_code", f"code {r.code} is used more than once.", (r.code,)))
            continue
        seen[r.code] = r
        problem = _geometry_problem(r)
        if problem is not None:
            findings.append(problem)
            continue
        usable.append(r)

    by_code = {r.code: r for r in usable}
    depths = sorted({rules[r.level].depth for r in usable})
    for r in sorted(usable, key=lambda a: rules[a.level].depth):
        assert r.geometry is not None and proj is not None  # usable records have a geometry, so the tree has a projection
        depth = rules[r.level].depth
        above = [d for d in depths if d < depth]
        if not above:
            if r.parent_code:
                findings.append(Finding(
                    "error", "missing_parent",
                    f"area {r.code} names parent {r.parent_code}, which is not in the tree.",
                    (r.code,),
                ))
            elif len(r.code) != rules[r.level].code_digits:
                findings.append(Finding(
                    "error", "code_hierarchy",
                    f"top-level {r.level} {r.code} should have a {rules[r.level].code_digits}-character code.",
                    (r.code,),
                ))
            continue
        if not r.parent_code:
            r.parent_code = _parent_by_containment(r, [p for p in usable if rules[p.level].depth == above[-1]])
            if r.parent_code is None:
                findings.append(Finding(
                    "error", "missing_parent",
                    f"no {_level_name(usable, rules, above[-1])} contains {r.level} {r.code}; give its parent_code.",
                    (r.code,), _inside(r.geometry),
                ))
                continue
        parent = by_code.get(r.parent_code)
        if parent is None:
            findings.append(Finding(
                "error", "missing_parent",
                f"area {r.code} names parent {r.parent_code}, which is not in the tree.",
                (r.code,),
            ))
            continue
        if rules[parent.level].depth >= depth:
            findings.append(Finding(
                "error", "code_hierarchy",
                f"{r.level} {r.code} has parent {parent.code}, a {parent.level}, which is not above it.",
                (r.code, parent.code),
            ))
            continue
        digits = rules[r.level].code_digits
        if not r.code.startswith(parent.code) or len(r.code) != len(parent.code) + digits:
            findings.append(Finding(
                "error", "code_hierarchy",
                f"{r.level} {r.code} should be its parent's code {parent.code} followed by {digits} characters.", (r.code, parent.code),
            ))
        findings.extend(_nesting(r, parent, tolerance_m2, proj))

    children: dict[str | None, list[AreaRecord]] = {}
    for r in usable:
        if r.parent_code is None or r.parent_code in by_code:
            children.setdefault(r.parent_code, []).append(r)
    for parent_code, kids in children.items():
        if all(k.carried for k in kids):
            continue  # unchanged siblings were checked when they were published
        container = by_code[parent_code].geometry if parent_code else None
        for level in sorted({k.level for k in kids}):
            group = [k for k in kids if k.level == level]
            shapes_of = cast(list[BaseGeometry], [k.geometry for k in group])  # usable: each has a geometry
            for p in coverage_problems([k.code for k in group], shapes_of, container, tolerance_m2, proj):
                where = f"inside {parent_code}" if parent_code else "between top-level areas"
                if p.kind == "overlap":
                    message = f"{level}s {p.codes[0]} and {p.codes[1]} overlap by {p.area_m2:,.1f} m² ({where})."
                else:
                    message = f"a gap of {p.area_m2:,.1f} m² {where} is in no {level}."
                # a gap is found only inside a parent (the container), so parent_code is set where codes are empty
                findings.append(Finding("error", p.kind, message, p.codes or (cast(str, parent_code),), p.point, p.area_m2))
        if parent_code is not None:
            parent = by_code[parent_code]
            total = sum(k.households or 0 for k in kids if rules[k.level].depth == min(rules[x.level].depth for x in kids))
            if parent.households is not None and any(k.households is not None for k in kids) and total != parent.households:
                findings.append(Finding(
                    "warning", "household_sum",
                    f"{parent.level} {parent.code} says {parent.households} households but its {kids[0].level}s add up to {total}.",
                    (parent.code,),
                ))

    for r in usable:
        rule = rules[r.level]
        if r.carried or r.households is None:
            continue
        assert r.geometry is not None  # usable: _geometry_problem found a geometry
        low, high = rule.households_min, rule.households_max
        if (low is not None and r.households < low) or (high is not None and r.households > high):
            findings.append(Finding(
                "warning", "households",
                f"{r.level} {r.code} has {r.households} households, outside {low}–{high}.", (r.code,), _inside(r.geometry),
            ))
    return findings


def _level_name(records: list[AreaRecord], rules: dict[str, LevelRule], depth: int) -> str:
    return next((r.level for r in records if rules[r.level].depth == depth), "parent")


def _inside(geom: BaseGeometry) -> tuple[float, float]:
    p = shapely.point_on_surface(geom)
    return (p.x, p.y)


def _geometry_problem(r: AreaRecord) -> Finding | None:
    g = r.geometry
    if g is None or g.is_empty:
        return Finding("error", "empty_geometry", f"area {r.code} has no geometry.", (r.code,))
    if g.geom_type not in ("Polygon", "MultiPolygon"):
        return Finding("error", "geometry_type", f"area {r.code} is a {g.geom_type}; areas must be polygons.", (r.code,))
    if g.is_valid:
        return None
    reason = shapely.is_valid_reason(g)
    match = _REASON_AT.search(reason)
    location = (float(match.group(1)), float(match.group(2))) if match else None
    repaired = shapely.make_valid(g)
    polygonal = shapely.get_parts(repaired)
    repairable = bool(len(polygonal)) and all(p.geom_type == "Polygon" for p in polygonal)
    return Finding(
        "error", "invalid_geometry",
        f"area {r.code} is not a valid polygon: {reason}."
        + (" make_valid would repair it; fix the source and import again." if repairable
           else " make_valid cannot repair it into polygons."),
        (r.code,), location, None, repairable,
    )


def _parent_by_containment(child: AreaRecord, candidates: list[AreaRecord]) -> str | None:
    inside = shapely.point_on_surface(child.geometry)
    for p in candidates:
        assert p.geometry is not None  # candidates are usable records
        if p.geometry.covers(inside):
            return p.code
    return None


def _nesting(child: AreaRecord, parent: AreaRecord, tolerance_m2: float, proj: LocalProjection) -> list[Finding]:
    assert child.geometry is not None and parent.geometry is not None  # both are usable records
    outside = shapely.difference(child.geometry, parent.geometry)
    if outside.is_empty:
        return []
    out = []
    for part in shapely.get_parts(outside):
        if part.geom_type != "Polygon":
            continue
        area = proj.area_m2(part)
        if area > tolerance_m2:
            out.append(Finding(
                "error", "outside_parent",
                f"{child.level} {child.code} reaches {area:,.1f} m² outside its {parent.level} {parent.code}.",
                (child.code, parent.code), _inside(part), area,
            ))
    return out
