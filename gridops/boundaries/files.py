"""Boundary files in and out: GeoJSON, GeoPackage or Shapefile (its parts, or zipped), in any CRS
pyproj knows or drawn on AMap or Baidu (GCJ-02, BD-09); written back as the version in force."""

from __future__ import annotations

import math
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID, crs_name, to_wgs84
from gridops.geo.validate import AreaRecord

from gridops.boundaries.areas import version_in_force
from gridops.core.errors import InvalidParameter, NotFound, TooLarge
from gridops.core.models import Area
from gridops.core.words import Say

READABLE = (".geojson", ".json", ".gpkg", ".shp", ".zip")
EXPORT_FORMATS = {"geojson": ("GeoJSON", ".geojson"), "gpkg": ("GPKG", ".gpkg"), "shp": ("ESRI Shapefile", ".shp")}
# a shapefile's field names stop at ten characters
_COLUMN_ALIASES = {"parent_cod": "parent_code", "parent": "parent_code", "household": "households", "hh": "households"}


def check_size(path: Path, max_bytes: int, max_features: int) -> None:
    """Refuse, before parsing, a file that would unpack or parse into more than a city's boundaries:
    a zip's members are summed from its directory (a 400 KB zip can hold 400 MB), and the features
    are counted from the file's header where its format keeps one (GeoPackage, Shapefile)."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                unpacked = sum(i.file_size for i in zf.infolist())
        except zipfile.BadZipFile:
            raise InvalidParameter("file", Say("%(name)s is not a zip file that can be read.", name=path.name)) from None
        if unpacked > max_bytes:
            raise TooLarge(Say("%(name)s unpacks to %(unpacked)s MB; boundary files may hold at most %(max_bytes)s MB.",
                               name=path.name, unpacked=format(unpacked / 1e6, ",.0f"), max_bytes=format(max_bytes / 1e6, ",.0f")),
                                   unpacked_bytes=unpacked, limit_bytes=max_bytes)
    elif path.stat().st_size > max_bytes:
        raise TooLarge(Say("%(name)s is %(st_size)s MB; boundary files may hold at most %(max_bytes)s MB.",
                           name=path.name, st_size=format(path.stat().st_size / 1e6, ",.0f"), max_bytes=format(max_bytes / 1e6, ",.0f")),
                               limit_bytes=max_bytes)
    if path.suffix.lower() in (".gpkg", ".shp", ".zip"):
        import pyogrio  # with geopandas, only reading files needs it

        try:
            count = int(pyogrio.read_info(path).get("features") or 0)
        except Exception:  # not readable: read_areas says so in its own words
            return
        if count > max_features:
            raise TooLarge(Say("%(name)s holds %(count)s features; boundary files may hold at most %(max_features)s.",
                               name=path.name, count=format(count, ","), max_features=format(max_features, ",")),
                           features=count, limit_features=max_features)


def read_areas(path: Path, crs: str | None = None) -> list[AreaRecord]:
    """Areas from GeoJSON, GeoPackage or Shapefile (a .shp beside its sidecars, or a .zip), in EPSG:4326.

    `crs` overrides the file's own: an EPSG code pyproj knows, or gcj02 / bd09
    for boundaries digitised on AMap or Baidu maps.
    """
    import geopandas as gpd  # ~0.7 s to import (pandas): only reading and writing files needs it

    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise InvalidParameter("file", Say("%(name)s: gridops reads %(readable)s files.",
                                           name=path.name, readable=', '.join(READABLE)))
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio's DataSourceError and friends: the file is not what it claims
        raise InvalidParameter("file", Say("could not read %(name)s as a vector file: %(value)s",
                                           name=path.name, value=str(exc).splitlines()[0])) from None
    frame.columns = [_COLUMN_ALIASES.get(str(c).lower(), str(c).lower()) for c in frame.columns]
    missing = [c for c in ("code", "level") if c not in frame.columns]
    if missing:
        raise InvalidParameter("file", Say("%(name)s lacks the column(s) %(missing)s; it needs code, name, level, households "
                                           "(and optionally parent_code).",
                                           name=path.name, missing=', '.join(missing)))
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
            raise InvalidParameter("crs", Say("%(name)s does not say its coordinate system; pass crs (e.g. EPSG:4547).",
                                              name=path.name))
    else:
        frame = frame.to_crs(STORAGE_SRID)
    records = []
    for row in frame.itertuples(index=False):
        records.append(AreaRecord(
            code=_text(row.code),
            name=_text(getattr(row, "name", None)) or _text(row.code),
            level=_text(row.level),
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
    text = str(value).strip()
    if "\x00" in text:
        raise InvalidParameter("file", Say('a code or name in the file contains a NUL character (\\0): %(text)r.', text=text))
    return text


def _count(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    return int(float(value))


def export(session: Session, layer: str, fmt: str, out: Path, at: datetime | None = None) -> int:
    """Write the version in force as GeoJSON, GeoPackage or Shapefile; returns the number of areas."""
    import geopandas as gpd  # ~0.7 s to import (pandas): only reading and writing files needs it

    if fmt not in EXPORT_FORMATS:
        raise InvalidParameter("format", Say("`format` must be one of %(export_formats)s; got %(fmt)r.",
                                             export_formats=', '.join(EXPORT_FORMATS), fmt=fmt))
    version = version_in_force(session, layer, at)
    if version is None:
        raise NotFound(Say("no boundary version of layer %(layer)r is in force at that time.", layer=layer))
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
