"""Does a set of sibling areas tile its parent: gaps and overlaps, in square metres.

Each finding carries its area and a point inside it, so a planner can go to the
spot. Measured in a local metric projection, never in square degrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .crs import local_projection

__all__ = ["CoverageProblem", "coverage_problems"]


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
) -> list[CoverageProblem]:
    """Every overlap between two of `polygons`, and every gap they leave inside `container`.

    Problems of `min_area_m2` or less are left out (floating-point slivers).
    """
    if not polygons:
        return []
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


def _problem(kind: str, part: BaseGeometry, proj, codes: tuple[str, ...]) -> CoverageProblem:
    inside = proj.to_wgs84(shapely.point_on_surface(part))
    return CoverageProblem(kind, float(part.area), (inside.x, inside.y), codes)
