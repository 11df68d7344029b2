"""Plans from and to files: any vector file of buildings or blocks in, grids with their metrics out.

Planners start from what they have — a shapefile of blocks from the land
bureau, a GeoPackage of footprints, a GeoJSON of address points — so the
generator needs no database: name the households column and go.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shapely.geometry.base import BaseGeometry

from gridops.geo.plan import Plan, PlanError, Unit

if TYPE_CHECKING:  # for the types only: importing geopandas costs ~0.7 s, paid when a file is read or written
    import geopandas as gpd

__all__ = ["read_units", "read_lines", "write_plan"]


def _frame(path: Path, crs: str | None) -> gpd.GeoDataFrame:
    import geopandas as gpd  # ~0.7 s to import (pandas): only reading and writing files needs it

    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio's DataSourceError and friends
        raise PlanError(f"could not read {path.name} as a vector file: {str(exc).splitlines()[0]}") from None
    if crs:
        frame = frame.set_crs(crs, allow_override=True)
    if frame.crs is None:
        if path.suffix.lower() in (".geojson", ".json"):
            frame = frame.set_crs(4326)  # RFC 7946
        else:
            raise PlanError(f"{path.name} does not say its coordinate system; pass --crs (e.g. EPSG:4547).")
    return frame.to_crs(4326)


def read_units(path: Path, households_column: str, code_column: str | None = None, crs: str | None = None) -> list[Unit]:
    """Buildings or blocks (polygons or points) with their household counts, in lon/lat."""
    frame = _frame(path, crs)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if households_column not in frame.columns:
        raise PlanError(f"{path.name} has no column {households_column!r}; its columns are {', '.join(map(str, columns))}.")
    if code_column and code_column not in frame.columns:
        raise PlanError(f"{path.name} has no column {code_column!r}; its columns are {', '.join(map(str, columns))}.")
    units: list[Unit] = []
    for k, row in enumerate(frame.itertuples(index=False)):
        raw = getattr(row, households_column)
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            households = 0
        else:
            try:
                households = int(float(raw))
            except (TypeError, ValueError):
                raise PlanError(f"row {k + 1} of {path.name}: {households_column} is {raw!r}, not a number.") from None
        code = str(getattr(row, code_column)) if code_column else f"U{k + 1:06d}"
        geom: BaseGeometry = row.geometry
        units.append(Unit(code, households, geom))
    return units


def read_lines(path: Path, crs: str | None = None) -> list[BaseGeometry]:
    """Streets or barriers from a vector file of lines, in lon/lat."""
    return [g for g in _frame(path, crs).geometry if g is not None and not g.is_empty]


def write_plan(plan: Plan, out: Path) -> None:
    """GeoJSON (with the metrics and problems as members) or, by suffix, a GeoPackage or shapefile of the areas."""
    doc: dict[str, Any] = plan.geojson()
    if out.suffix.lower() in (".geojson", ".json"):
        out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return
    import geopandas as gpd  # ~0.7 s to import (pandas): only reading and writing files needs it

    frame = gpd.GeoDataFrame.from_features(doc["features"], crs=4326)
    frame.to_file(out, engine="pyogrio")
