"""The demo city as files: GeoJSON a planner opens in QGIS, CSV `gridops load` reads, and a README saying
what each holds. Kept apart from generating so the format (columns, their order, the rounding) lives in one
place and the bytes depend on the city alone: the same city always gives the same files."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from shapely.geometry import Point, mapping

from gridops.geo.geojson import geometry_to_geojson

from gridops.demo.catalogue import POLICE_LAYER
from gridops.demo.model import DemoCity

# properties of incidents.geojson, in order (the same for every feature, so QGIS sees every field): the report
# as it comes in; what became of it is the loop's to decide when the city is loaded
INCIDENT_FIELDS = [
    "ref", "category", "channel", "description", "reported_at", "lon", "lat",
    "original_x", "original_y", "original_crs", "address_text", "building_code", "household_code",
    "reporter_name", "reporter_contact", "reporter_worker",
]
# columns of incident_steps.csv: one scripted step of one report
STEP_FIELDS = ["incident_ref", "step", "at", "action", "actor", "note", "lon", "lat", "rating"]

_README = """Demo city for gridops (generated; every name, person and report is fictional)

city.json            manifest: seed, time zone, layer, area levels, departments, categories, calendar
areas.geojson        district, streets, communities, grids and micro-grids (code, name, level, parent_code, households, population)
police.geojson       a second layer on the same ground: two police stations and their beats (警格)
roads.geojson        the street network, one segment between intersections
buildings.geojson    building footprints (code, address, compound 小区, use, floors, households, entrance lon/lat)
households.csv       one row per household (code on the door's QR code, building, unit, floor, room, persons, tags)
workers.geojson      grid workers, grid leaders, staff, at their last known position (where known)
assignments.csv      who answers for which area (primary, backup, leader)
shifts.csv           weekly on-duty windows, local time
incidents.geojson    the reports as they came in (category, channel, description, where, who reported, when)
incident_steps.csv   per report, the steps a street office takes and when (its script): action, actor
                     (centre = the command centre on duty, assignee = whoever holds it then, leader = the
                     grid's leader), note, position, rating. `gridops load` plays reports and steps in time
                     order through the real loop (intake places, merges duplicates and routes; every step is
                     taken as the API takes it), so the history in the database is one the product made;
                     a step the live state no longer allows is skipped
tasks.csv            patrol visits to elderly people living alone
patrols.csv          who needs visits (elderly living alone, disabled): person, phone, ID number (fictional), interval

All coordinates are WGS-84 (EPSG:4326), lon/lat; times are ISO 8601 in UTC.
Open the GeoJSON files in QGIS directly.
"""


def _write_features(path: Path, name: str, rows: list[dict[str, Any]], precision: int | None) -> None:
    """A FeatureCollection; `precision` rounds coordinates (None keeps them whole, for areas that must tile)."""
    features = []
    for row in rows:
        geom = row.get("geometry")
        if geom is None and row.get("lon") is not None:
            geom = Point(row["lon"], row["lat"])
        props = {k: v for k, v in row.items() if k not in ("geometry", "lon", "lat")}
        if geom is None:
            geometry = None
        elif precision is None:
            geometry = mapping(geom)
        else:
            geometry = geometry_to_geojson(geom, precision)
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    doc = {"type": "FeatureCollection", "name": name, "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A CSV file with exactly these columns, None written as an empty cell, LF line ends on every platform."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})


def write_city(city: DemoCity, out_dir: Path) -> None:
    """Write the city as files; the same city always gives the same bytes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = dict(city.manifest, counts=city.summary())
    (out_dir / "city.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out_dir / "README.txt").write_text(_README, encoding="utf-8")
    _write_features(out_dir / "areas.geojson", "areas", city.areas, None)
    _write_features(out_dir / POLICE_LAYER["file"], "police", city.police, None)
    _write_features(out_dir / "roads.geojson", "roads", city.roads, 7)
    _write_features(out_dir / "buildings.geojson", "buildings", city.buildings, 7)
    _write_csv(out_dir / "households.csv", city.households,
               ["code", "building_code", "unit", "floor", "room", "persons", "tags"])
    _write_features(out_dir / "workers.geojson", "workers", city.workers, 7)
    _write_csv(out_dir / "assignments.csv", city.assignments, ["worker_code", "layer", "area_code", "duty", "valid_from"])
    _write_csv(out_dir / "shifts.csv", city.shifts, ["worker_code", "weekday", "start", "end"])
    _write_features(out_dir / "incidents.geojson", "incidents",
                    [{k: inc.get(k) for k in INCIDENT_FIELDS} for inc in city.incidents], 7)
    _write_csv(out_dir / "incident_steps.csv", city.steps, STEP_FIELDS)
    _write_csv(out_dir / "tasks.csv", city.tasks,
               ["kind", "title", "status", "worker_code", "area_code", "building_code", "household_code", "lon", "lat",
                "scheduled_for", "due_at", "completed_at"])
    _write_csv(out_dir / "patrols.csv", city.patrols,
               ["household_code", "building_code", "kind", "person", "phone", "id_number", "interval_days", "registered_at",
                "last_visit_at"])
