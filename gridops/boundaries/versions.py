"""Boundaries in and out: check a planner's file, publish it as a new version, export, compare layers.

A file may hold every level of a layer or only some (grids and micro-grids,
say): the levels it holds replace those of the version in force; the levels it
does not hold are carried over unchanged, so the new version is whole. Nothing
is stored unless the whole tree passes: geometry errors are never accepted;
household-count warnings are accepted only when the planner says so.
"""

from __future__ import annotations

import math
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID, crs_name, local_projection, to_wgs84
from gridops.geo.validate import AreaRecord, Finding, LevelRule, validate_tree

from gridops.boundaries.areas import version_in_force
from gridops.core.errors import GridopsError, InvalidParameter, NotFound
from gridops.core.models import Area, AreaLevel, BoundaryVersion, Building, Layer

READABLE = (".geojson", ".json", ".gpkg", ".shp", ".zip")
EXPORT_FORMATS = {"geojson": ("GeoJSON", ".geojson"), "gpkg": ("GPKG", ".gpkg"), "shp": ("ESRI Shapefile", ".shp")}
# a shapefile's field names stop at ten characters
_COLUMN_ALIASES = {"parent_cod": "parent_code", "parent": "parent_code", "household": "households", "hh": "households"}


class ImportRefused(GridopsError):
    """The file has errors (or unaccepted warnings): nothing was stored."""

    status = 422
    slug = "boundaries-refused"


@dataclass
class Report:
    layer: str
    source: str
    areas: dict[str, int]  # per level, from the file
    carried: dict[str, int]  # per level, from the version in force
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def as_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "source": self.source,
            "areas": self.areas,
            "carried_over": self.carried,
            "errors": [f.as_json() for f in self.errors],
            "warnings": [f.as_json() for f in self.warnings],
            "ok": not self.errors,
        }


# --- reading --------------------------------------------------------------------


def read_areas(path: Path, crs: str | None = None) -> list[AreaRecord]:
    """Areas from GeoJSON, GeoPackage or Shapefile (a .shp beside its sidecars, or a .zip), in EPSG:4326.

    `crs` overrides the file's own: an EPSG code pyproj knows, or gcj02 / bd09
    for boundaries digitised on AMap or Baidu maps.
    """
    import geopandas as gpd

    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise InvalidParameter("file", f"{path.name}: gridops reads {', '.join(READABLE)} files.")
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio's DataSourceError and friends: the file is not what it claims
        raise InvalidParameter("file", f"could not read {path.name} as a vector file: {str(exc).splitlines()[0]}") from None
    frame.columns = [_COLUMN_ALIASES.get(str(c).lower(), str(c).lower()) for c in frame.columns]
    missing = [c for c in ("code", "level") if c not in frame.columns]
    if missing:
        raise InvalidParameter("file", f"{path.name} lacks the column(s) {', '.join(missing)}; it needs code, name, level, households (and optionally parent_code).")
    special = crs_name(crs) if crs and crs.lower() in ("gcj02", "gcj-02", "bd09", "bd-09", "amap", "baidu") else None
    if special:
        frame = frame.set_crs(STORAGE_SRID, allow_override=True)
        frame.geometry = frame.geometry.apply(lambda g: _offset_to_wgs84(g, special) if g is not None else g)
    elif crs:
        frame = frame.set_crs(crs, allow_override=True).to_crs(STORAGE_SRID)
    elif frame.crs is None:
        if suffix in (".geojson", ".json"):
            frame = frame.set_crs(STORAGE_SRID)  # RFC 7946: GeoJSON is WGS-84
        else:
            raise InvalidParameter("crs", f"{path.name} does not say its coordinate system; pass crs (e.g. EPSG:4547).")
    else:
        frame = frame.to_crs(STORAGE_SRID)
    records = []
    for row in frame.itertuples(index=False):
        records.append(AreaRecord(
            code=_text(getattr(row, "code")),
            name=_text(getattr(row, "name", None)) or _text(getattr(row, "code")),
            level=_text(getattr(row, "level")),
            parent_code=_text(getattr(row, "parent_code", None)) or None,
            households=_count(getattr(row, "households", None)),
            geometry=row.geometry,
        ))
    return records


def _offset_to_wgs84(geom: BaseGeometry, crs: str) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], crs)))


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # numeric codes read from a shapefile
    return str(value).strip()


def _count(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    return int(float(value))


# --- checking and publishing ----------------------------------------------------


def _rules(session: Session) -> dict[str, LevelRule]:
    return {
        lv.code: LevelRule(lv.code, lv.depth, lv.code_digits, lv.households_min, lv.households_max)
        for lv in session.scalars(select(AreaLevel))
    }


def _carried_over(session: Session, layer: str, levels_in_file: set[str], at: datetime) -> list[AreaRecord]:
    version = version_in_force(session, layer, at)
    if version is None:
        return []
    return version_records(session, version.id, Area.level.not_in(levels_in_file))


def version_records(session: Session, version_id: int, *where) -> list[AreaRecord]:
    """A stored version's areas (those matching `where`) as records, to be carried into a new version."""
    parent = Area.__table__.alias("parent")
    rows = session.execute(
        select(Area.code, Area.name, Area.level, parent.c.code, Area.households, Area.geom.ST_AsBinary())
        .outerjoin(parent, parent.c.id == Area.parent_id)
        .where(Area.version_id == version_id, *where)
    ).all()
    return [
        AreaRecord(code, name, level, parent_code, households, shapely.from_wkb(bytes(wkb)), carried=True)
        for code, name, level, parent_code, households, wkb in rows
    ]


def check(session: Session, path: Path, layer: str, *, crs: str | None = None, effective: datetime | None = None,
          tolerance_m2: float = 1.0, source: str | None = None) -> tuple[Report, list[AreaRecord]]:
    """The report on a file, as it would be published (with the levels it lacks carried over)."""
    records = read_areas(path, crs)
    if not records:
        raise InvalidParameter("file", f"{path.name} holds no areas.")
    levels = {r.level for r in records}
    carried = _carried_over(session, layer, levels, effective or datetime.now(UTC))
    tree = carried + records
    findings = validate_tree(tree, _rules(session), tolerance_m2)
    report = Report(
        layer=layer,
        source=source or path.name,
        areas=_count_levels(records),
        carried=_count_levels(carried),
        findings=findings,
    )
    return report, tree


def _count_levels(records: list[AreaRecord]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        out[r.level] = out.get(r.level, 0) + 1
    return out


def publish(session: Session, path: Path, layer: str, *, effective: datetime | None = None, accept_warnings: bool = False,
            crs: str | None = None, tolerance_m2: float = 1.0, source: str | None = None,
            created_by: str | None = None) -> tuple[BoundaryVersion, Report]:
    """Check, then store the file as a new published version of `layer`; all or nothing."""
    effective = effective or datetime.now(UTC)
    report, tree = check(session, path, layer, crs=crs, effective=effective, tolerance_m2=tolerance_m2, source=source)
    if report.errors:
        raise ImportRefused(
            f"{report.source}: {len(report.errors)} error(s); nothing was stored. First: {report.errors[0].message}",
            report=report.as_json(),
        )
    if report.warnings and not accept_warnings:
        raise ImportRefused(
            f"{report.source}: {len(report.warnings)} warning(s) and accept_warnings was not given; nothing was stored. "
            f"First: {report.warnings[0].message}",
            report=report.as_json(),
        )
    note = f"{sum(report.areas.values())} areas from the file, {sum(report.carried.values())} carried over"
    return store_version(session, tree, layer, effective=effective, source=report.source, note=note,
                         created_by=created_by), report


def store_version(session: Session, tree: list[AreaRecord], layer: str, *, effective: datetime, source: str,
                  note: str, created_by: str | None) -> BoundaryVersion:
    """Store a checked tree of areas as the next published version of `layer` (in the caller's transaction)."""
    now = datetime.now(UTC)
    layer_row = session.scalar(select(Layer).where(Layer.code == layer))
    if layer_row is None:
        layer_row = Layer(code=layer, name=layer, description=f"imported from {source}", created_at=now)
        session.add(layer_row)
        session.flush()
    number = (session.scalar(select(func.max(BoundaryVersion.number)).where(BoundaryVersion.layer_id == layer_row.id)) or 0) + 1
    version = BoundaryVersion(
        layer_id=layer_row.id, number=number, status="published", effective_from=effective, published_at=now,
        source=source, note=note, created_by=created_by, created_at=now,
    )
    session.add(version)
    session.flush()
    rules = _rules(session)
    ids: dict[str, int] = {}
    for r in sorted(tree, key=lambda a: (rules[a.level].depth, a.code)):
        geom = r.geometry if isinstance(r.geometry, MultiPolygon) else MultiPolygon(shapely.get_parts(r.geometry))
        ids[r.code] = session.execute(
            insert(Area).returning(Area.id),
            {
                "version_id": version.id, "code": r.code, "name": r.name, "level": r.level,
                "parent_id": ids.get(r.parent_code) if r.parent_code else None,
                "households": r.households or 0, "population": None,
                "geom": from_shape(geom, srid=STORAGE_SRID),
            },
        ).scalar_one()
    return version


def add_level(session: Session, code: str, name: str, depth: int, code_digits: int, *, name_en: str | None = None,
              households_min: int | None = None, households_max: int | None = None) -> AreaLevel:
    """Define a level (a new layer's own tree: police stations and beats, census blocks…)."""
    if not code.replace("_", "").isalnum():
        raise InvalidParameter("code", f"a level code is letters, digits and _; got {code!r}.")
    if session.get(AreaLevel, code) is not None:
        raise InvalidParameter("code", f"level {code!r} exists already.")
    taken = session.scalar(select(AreaLevel.code).where(AreaLevel.depth == depth))
    if taken:
        raise InvalidParameter("depth", f"depth {depth} is level {taken!r}'s; levels of one tree need distinct depths.")
    if code_digits < 1:
        raise InvalidParameter("code_digits", "code_digits must be at least 1.")
    level = AreaLevel(code=code, name=name, name_en=name_en or name, depth=depth, code_digits=code_digits, optional=False,
                      households_min=households_min, households_max=households_max)
    session.add(level)
    session.flush()
    return level


def list_levels(session: Session) -> list[AreaLevel]:
    return list(session.scalars(select(AreaLevel).order_by(AreaLevel.depth)))


def list_versions(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Layer.code, BoundaryVersion.number, BoundaryVersion.status, BoundaryVersion.effective_from,
               BoundaryVersion.published_at, BoundaryVersion.source, BoundaryVersion.note)
        .join(Layer, Layer.id == BoundaryVersion.layer_id)
        .order_by(Layer.code, BoundaryVersion.number)
    ).all()
    return [
        {"layer": r[0], "number": r[1], "status": r[2], "effective_from": r[3].isoformat(),
         "published_at": r[4].isoformat() if r[4] else None, "source": r[5], "note": r[6]}
        for r in rows
    ]


# --- export ---------------------------------------------------------------------


def export(session: Session, layer: str, fmt: str, out: Path, at: datetime | None = None) -> int:
    """Write the version in force as GeoJSON, GeoPackage or Shapefile; returns the number of areas."""
    import geopandas as gpd

    if fmt not in EXPORT_FORMATS:
        raise InvalidParameter("format", f"`format` must be one of {', '.join(EXPORT_FORMATS)}; got {fmt!r}.")
    version = version_in_force(session, layer, at)
    if version is None:
        raise NotFound(f"no boundary version of layer {layer!r} is in force at that time.")
    parent = Area.__table__.alias("parent")
    rows = session.execute(
        select(Area.code, Area.name, Area.level, parent.c.code, Area.households, Area.geom.ST_AsBinary())
        .outerjoin(parent, parent.c.id == Area.parent_id)
        .where(Area.version_id == version.id)
        .order_by(Area.code)
    ).all()
    frame = gpd.GeoDataFrame(
        {
            "code": [r[0] for r in rows], "name": [r[1] for r in rows], "level": [r[2] for r in rows],
            "parent_code": [r[3] for r in rows], "households": [r[4] for r in rows],
        },
        geometry=shapely.from_wkb([bytes(r[5]) for r in rows]),
        crs=STORAGE_SRID,
    )
    driver, _ = EXPORT_FORMATS[fmt]
    out.parent.mkdir(parents=True, exist_ok=True)
    options = {"layer": layer} if fmt == "gpkg" else {}
    if fmt == "shp":
        options["encoding"] = "UTF-8"
        frame = frame.rename(columns={"parent_code": "parent_cod"})  # ten characters at most; read back as parent_code
    frame.to_file(out, driver=driver, engine="pyogrio", **options)
    return len(frame)


def zip_shapefile(shp: Path) -> Path:
    """The shapefile and its sidecars in one .zip, for download."""
    target = shp.with_suffix(".zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(shp.parent.glob(shp.stem + ".*")):
            if part.suffix.lower() != ".zip":
                zf.write(part, part.name)
    return target


def scratch_dir(instance_path: str) -> Path:
    base = Path(instance_path) / "uploads"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="boundaries-", dir=base))


# --- misfit between layers ------------------------------------------------------


def misfit(session: Session, layer_a: str, layer_b: str, *, level_a: str | None = None, level_b: str | None = None,
           at: datetime | None = None) -> list[dict[str, Any]]:
    """For each area of A, how B's boundaries split it: share of its ground and of its households.

    Households are counted from the buildings (their entrance points); an area
    with no buildings in it reports the area share for households too.
    """
    va, vb = version_in_force(session, layer_a, at), version_in_force(session, layer_b, at)
    for name, v in ((layer_a, va), (layer_b, vb)):
        if v is None:
            raise NotFound(f"no boundary version of layer {name!r} is in force at that time.")
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
        raise InvalidParameter("level", f"no areas of level {level!r} in that layer.")
    return [r[0] for r in rows], list(shapely.from_wkb([bytes(r[1]) for r in rows])), level
