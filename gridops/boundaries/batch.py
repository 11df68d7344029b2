"""Batch geocoding: a CSV or GeoJSON of points in, the same rows out with their areas.

One bad row does not spoil the batch: it comes back with `status=invalid` and
an `error` saying what is wrong with it. Output is produced in chunks, so a
large batch streams instead of waiting for the whole answer.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from gridops.geo.crs import crs_name, to_wgs84
from gridops.geo.errors import UnknownCRS
from gridops.geo.index import OUTSIDE, STATUS

from gridops.boundaries.geocoder import Geocoder
from gridops.core.errors import InvalidParameter
from gridops.core.spreadsheet import Export, cell
from gridops.core.words import Say

_LON = ("lon", "lng", "longitude", "x")
_LAT = ("lat", "latitude", "y")
CHUNK_ROWS = 2000


@dataclass
class BatchInput:
    ids: list[str]
    x: np.ndarray
    y: np.ndarray
    crs: list[str | None]
    errors: list[str | None]
    extra: list[dict[str, Any]]  # other CSV columns / GeoJSON properties, passed through

    def __len__(self) -> int:
        return len(self.ids)

    def slice(self, start: int, stop: int) -> BatchInput:
        return BatchInput(
            self.ids[start:stop], self.x[start:stop], self.y[start:stop], self.crs[start:stop],
            self.errors[start:stop], self.extra[start:stop],
        )


def _number(raw: Any) -> float | None:
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _check_row(x: float | None, y: float | None, crs_raw: str | None, default_crs: str) -> tuple[str | None, str | None]:
    """(canonical crs, error) for one row; the crs is kept when only the range is wrong."""
    try:
        crs = crs_name(crs_raw) if crs_raw else default_crs
    except UnknownCRS as err:
        return None, str(err)
    if x is None or y is None:
        return crs, "lon and lat must both be finite numbers"
    if not -180 <= x <= 180:
        return crs, f"lon {x} is out of range [-180, 180]"
    if not -90 <= y <= 90:
        return crs, f"lat {y} is out of range [-90, 90]"
    return crs, None


def parse_csv(lines: Iterable[str], max_points: int, default_crs: str = "wgs84") -> BatchInput:
    """The points of a CSV; a line the csv module cannot read (a field beyond its size limit…) refuses the
    file, naming the line."""
    reader = csv.DictReader(lines)
    try:
        return _parse_csv(reader, max_points, default_crs)
    except csv.Error as exc:
        raise InvalidParameter("body", Say("the CSV cannot be read at line %(line_num)s: %(exc)s.", line_num=reader.line_num,
                                           exc=exc)) from None


def _parse_csv(reader: csv.DictReader[str], max_points: int, default_crs: str) -> BatchInput:
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    lon_col = next((c for c in _LON if c in header), None)
    lat_col = next((c for c in _LAT if c in header), None)
    if lon_col is None or lat_col is None:
        raise InvalidParameter("body", Say("the CSV needs a header naming its lon and lat columns (got %(header)s).",
                                           header=', '.join(header) or 'none'))
    out = BatchInput([], np.empty(0), np.empty(0), [], [], [])
    xs, ys = [], []
    for k, row in enumerate(reader):
        if k >= max_points:
            raise InvalidParameter("body", Say("a batch holds at most %(max_points)s points; split the file.",
                                               max_points=format(max_points, ",")))
        x, y = _number(row.get(lon_col)), _number(row.get(lat_col))
        crs, error = _check_row(x, y, (row.get("crs") or "").strip() or None, default_crs)
        out.ids.append(row.get("id") or str(k + 1))
        xs.append(x if x is not None else math.nan)
        ys.append(y if y is not None else math.nan)
        out.crs.append(crs)
        out.errors.append(error)
        out.extra.append({c: v for c, v in row.items() if c not in {lon_col, lat_col, "crs", "id"} and c})
    out.x, out.y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    return out


def parse_geojson(doc: Any, max_points: int, default_crs: str = "wgs84") -> BatchInput:
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise InvalidParameter("body", Say("the body must be a GeoJSON FeatureCollection of Point features."))
    features = doc["features"]
    if len(features) > max_points:
        raise InvalidParameter("body", Say("a batch holds at most %(max_points)s points; got %(n_features)s.",
                                           max_points=format(max_points, ","), n_features=format(len(features), ",")))
    out = BatchInput([], np.empty(0), np.empty(0), [], [], [])
    xs, ys = [], []
    for k, feature in enumerate(features):
        props = (feature or {}).get("properties") or {}
        geom = (feature or {}).get("geometry") or {}
        coords = geom.get("coordinates") if geom.get("type") == "Point" else None
        x = _number(coords[0]) if isinstance(coords, list) and len(coords) >= 2 else None
        y = _number(coords[1]) if isinstance(coords, list) and len(coords) >= 2 else None
        crs, error = _check_row(x, y, props.get("crs"), default_crs)
        if geom.get("type") != "Point":
            error = f"feature {k + 1} is not a Point"
        out.ids.append(str(feature.get("id") if feature.get("id") is not None else props.get("id", k + 1)))
        xs.append(x if x is not None else math.nan)
        ys.append(y if y is not None else math.nan)
        out.crs.append(crs)
        out.errors.append(error)
        out.extra.append({key: v for key, v in props.items() if key not in {"crs", "id"}})
    out.x, out.y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    return out


@dataclass
class BatchResult:
    source: BatchInput
    lon: np.ndarray
    lat: np.ndarray
    rows: list[dict[str, Any]]
    columns: list[str]


def locate_batch(geocoder: Geocoder, batch: BatchInput, at: datetime | None = None) -> BatchResult:
    n = len(batch)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    valid = np.array([e is None for e in batch.errors], dtype=bool)
    crs = np.array([c or "" for c in batch.crs], dtype=object)
    for name in set(crs[valid]):
        m = valid & (crs == name)
        lon[m], lat[m] = to_wgs84(batch.x[m], batch.y[m], name)
    where = np.flatnonzero(valid)
    placed = geocoder.locate_arrays(lon[where], lat[where], at)
    primary = geocoder.primary_layer
    version, placement = placed[primary]
    errors = list(batch.errors)

    # outside (or out of range) as given but inside with lon and lat exchanged: say so
    out_of_range = np.flatnonzero(~valid & np.isfinite(batch.x) & np.isfinite(batch.y) & (crs != ""))
    candidates = np.concatenate([where[placement.status == OUTSIDE], out_of_range])
    maybe = candidates[(np.abs(batch.y[candidates]) <= 180) & (np.abs(batch.x[candidates]) <= 90)]
    if maybe.size:
        swapped_lon = np.empty(maybe.size)
        swapped_lat = np.empty(maybe.size)
        for name in set(crs[maybe]):
            m = crs[maybe] == name
            swapped_lon[m], swapped_lat[m] = to_wgs84(batch.y[maybe][m], batch.x[maybe][m], name)
        back = version.index.locate(swapped_lon, swapped_lat)
        for k in maybe[back.status != OUTSIDE]:
            errors[k] = "outside as given, inside with lon and lat swapped: latitude and longitude look swapped"

    levels = list(placement.levels)
    columns = ["id", "x", "y", "crs", "lon", "lat", "status", "distance_m", *levels]
    columns += [f"{lv}_name" for lv in ("grid", "micro_grid") if lv in levels]
    others = [(layer, v, p) for layer, (v, p) in placed.items() if layer != primary]
    for layer, _, p in others:
        columns += [f"{layer}.status", *(f"{layer}.{lv}" for lv in p.levels)]
    columns += ["boundary_version", "error"]
    extra_cols = sorted({k for e in batch.extra for k in e})
    columns += [c for c in extra_cols if c not in columns]

    position = np.full(n, -1, dtype=np.int64)
    position[where] = np.arange(len(where))
    rows: list[dict[str, Any]] = []
    for k in range(n):
        row: dict[str, Any] = {
            "id": batch.ids[k], "x": _plain(batch.x[k]), "y": _plain(batch.y[k]), "crs": batch.crs[k] or "",
            **batch.extra[k],
        }
        p = position[k]
        if p < 0:
            row.update(status="invalid", error=errors[k])
            rows.append(row)
            continue
        status = int(placement.status[p])
        row.update(
            lon=round(float(lon[k]), 7), lat=round(float(lat[k]), 7), status=STATUS[status],
            distance_m=round(float(placement.distance_m[p]), 2), boundary_version=version.info.number, error=errors[k],
        )
        for col, lv in enumerate(levels):
            a = int(placement.areas[p, col])
            if a >= 0:
                row[lv] = version.codes[a]
                if lv in ("grid", "micro_grid"):
                    row[f"{lv}_name"] = version.names[a]
        for layer, v, lp in others:
            row[f"{layer}.status"] = STATUS[int(lp.status[p])]
            for col, lv in enumerate(lp.levels):
                a = int(lp.areas[p, col])
                if a >= 0:
                    row[f"{layer}.{lv}"] = v.codes[a]
        rows.append(row)
    return BatchResult(batch, lon, lat, rows, columns)


def _plain(value: float) -> float | str:
    return "" if math.isnan(value) else float(value)


def csv_chunks(result: BatchResult, header: bool = True) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=result.columns, extrasaction="ignore", dialect=Export)
    if header:
        writer.writeheader()
    for start in range(0, len(result.rows), CHUNK_ROWS):
        writer.writerows({k: cell(v) for k, v in r.items()} for r in result.rows[start : start + CHUNK_ROWS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    rest = buffer.getvalue()
    if rest:
        yield rest


def geojson_chunks(result: BatchResult) -> Iterator[str]:
    yield '{"type":"FeatureCollection","features":['
    for start in range(0, len(result.rows), CHUNK_ROWS):
        parts = []
        for k in range(start, min(start + CHUNK_ROWS, len(result.rows))):
            row = result.rows[k]
            geometry = None
            if row.get("lon") is not None:
                geometry = {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
            props = {c: row.get(c) for c in result.columns if c not in ("id",)}
            parts.append(json.dumps({"type": "Feature", "id": row["id"], "geometry": geometry, "properties": props},
                                    ensure_ascii=False, separators=(",", ":")))
        yield ("," if start else "") + ",".join(parts)
    yield "]}\n"
