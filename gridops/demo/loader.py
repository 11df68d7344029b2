"""Load a city directory (as `gridops demo-city` writes it) into the database.

One transaction: a load that fails part-way leaves nothing behind. The ground,
the people and their shifts are stored as they are; the incident history is
made by driving the real loop, with the clock moved (replay.py): every report
(in incidents.geojson) goes in through intake — placed, merged into an open
incident it duplicates, routed — and every scripted step (incident_steps.csv)
through `gridops.incidents.steps.act`, as the API takes them, all in one global
time order so each report sees the open incidents and the work of its moment.
The script names kinds of actor, resolved at the step's moment: the command
centre's supervisor on duty, whoever holds the incident then, the grid's
leader. A step the live state refuses (real routing or a merge made it
meaningless) is skipped and counted; no event is ever written by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID

from gridops.boundaries.normalize import normalize_address
from gridops.core import clock
from gridops.core.errors import Conflict, InvalidParameter
from gridops.core.models import (
    Area,
    AreaLevel,
    Assignment,
    Base,
    BoundaryVersion,
    Building,
    CalendarDay,
    Category,
    CategoryGroup,
    Department,
    Household,
    Layer,
    Notification,
    PatrolRegister,
    Road,
    Shift,
    Task,
    Worker,
)
from gridops.demo import reading
from gridops.demo.catalogue import CATEGORY_GROUPS, FORMAT_VERSION, visibility
from gridops.demo.reading import Feature, Progress
from gridops.demo.replay import play_history

_CHUNK = 2000
SUPPORTED_FORMAT = FORMAT_VERSION


def _wkb(geom: BaseGeometry | None) -> WKBElement | None:
    return None if geom is None else from_shape(geom, srid=STORAGE_SRID)


def _multi(geom: BaseGeometry | None, what: str) -> MultiPolygon:
    """An area's or a footprint's geometry as the columns store it (always a MultiPolygon)."""
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    raise InvalidParameter("geometry", f"{what} must be a polygon or a multipolygon, not {geom.geom_type if geom else 'nothing'}.")


def _id_of(ids: Mapping[str, int], code: str | None) -> int | None:
    """The id a code was loaded as; None for no code (or one not loaded)."""
    return None if code is None else ids.get(code)


def _bulk(session: Session, model: type[Base], rows: list[dict[str, Any]], label: str, progress: Progress) -> None:
    chunks = [rows[i : i + _CHUNK] for i in range(0, len(rows), _CHUNK)]
    with progress(chunks, label) as bar:
        for chunk in bar:
            session.execute(insert(model), chunk)


def load_city(
    session: Session,
    city_dir: Path,
    *,
    config: Mapping[str, Any],
    if_empty: bool = False,
    progress: Progress | None = None,
) -> dict[str, int] | None:
    """Load everything; returns counts, or None when `if_empty` and boundaries already exist."""
    progress = progress or reading.no_progress
    manifest_path = city_dir / "city.json"
    if not manifest_path.exists():
        raise InvalidParameter("city_dir", f"{city_dir} has no city.json: is it a directory written by `gridops demo-city`?")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != SUPPORTED_FORMAT:
        raise InvalidParameter("city_dir", f"{manifest_path} is format {manifest.get('format')!r}; "
                               f"this gridops reads format {SUPPORTED_FORMAT}.")
    layer_code = manifest["layer"]["code"]
    loaded = session.scalar(select(BoundaryVersion.id).join(Layer).where(Layer.code == layer_code).limit(1))
    if loaded is not None:
        if if_empty:
            return None
        raise Conflict(
            f"layer {layer_code!r} already has boundaries in this database; load a city into an empty database "
            "(or publish new boundaries with the boundary import)."
        )
    now = clock.now()
    counts: dict[str, int] = {}

    _reference_data(session, manifest)
    version = _new_layer_version(session, manifest["layer"], manifest, city_dir, now)
    layer = version.layer

    areas = reading.features(city_dir / "areas.geojson")
    counts["areas"] = _load_areas(session, version, areas, progress)
    for extra in manifest.get("layers", []):
        other = _new_layer_version(session, extra, manifest, city_dir, now)
        counts[f"{extra['code']} areas"] = _load_areas(session, other, reading.features(city_dir / extra["file"]), progress)
    counts["roads"] = _load_roads(session, city_dir, progress)
    building_ids, household_ids = _load_buildings(session, city_dir, now, progress)
    counts["buildings"], counts["households"] = len(building_ids), len(household_ids)
    worker_ids = _load_workers(session, city_dir, manifest, layer, progress)
    counts["workers"] = len(worker_ids)
    counts.update(play_history(session, city_dir, config, progress))
    # the history's messages were news weeks ago: read in the app, never sent to a phone when a channel is set up
    session.execute(update(Notification).where(Notification.fanned_at.is_(None)).values(fanned_at=Notification.created_at))
    counts["patrols"] = _load_patrols(session, city_dir, building_ids, household_ids, now, progress)
    counts["tasks"] = _load_tasks(session, city_dir, building_ids, household_ids, worker_ids, now, progress)
    return counts


def _new_layer_version(session: Session, spec: dict[str, Any], manifest: dict[str, Any], city_dir: Path, now: datetime) -> BoundaryVersion:
    layer = session.scalar(select(Layer).where(Layer.code == spec["code"]))
    if layer is None:
        layer = Layer(code=spec["code"], name=spec["name"], description=spec.get("description"), created_at=now)
        session.add(layer)
        session.flush()
    version = BoundaryVersion(
        layer_id=layer.id, number=1, status="published", effective_from=reading.ts(manifest["effective_from"]),
        published_at=now, source=str(city_dir), note=manifest.get("name"), created_by="gridops load", created_at=now,
    )
    session.add(version)
    session.flush()
    return version


def _reference_data(session: Session, manifest: dict[str, Any]) -> None:
    """Levels, departments, categories and the calendar: merged, so a reload of the same city agrees."""
    for lv in manifest.get("levels", []):
        session.merge(AreaLevel(**lv))
    session.flush()
    for d in manifest.get("departments", []):
        session.merge(Department(**d))
    session.flush()
    known = {g["code"]: g for g in CATEGORY_GROUPS}
    groups = {g["code"]: g for g in manifest.get("category_groups", [])}
    for c in manifest.get("categories", []):  # files older than the classes name them by code only
        code = c.get("group_code")
        if code and code not in groups:
            groups[code] = known.get(code, {"code": code, "name": code, "position": 1000})
    for g in groups.values():
        session.merge(CategoryGroup(**{k: v for k, v in g.items() if k in CategoryGroup.__table__.columns}))
    session.flush()
    for c in manifest.get("categories", []):
        fields = {**visibility(c.get("group_code"), c.get("department_code")),  # files older than the flags
                  **{k: v for k, v in c.items() if k in Category.__table__.columns}}
        session.merge(Category(**fields, active=True))
    for day in manifest.get("calendar", []):
        session.merge(CalendarDay(day=date.fromisoformat(day["day"]), kind=day["kind"], name=day.get("name")))
    session.flush()


def _load_areas(session: Session, version: BoundaryVersion, areas: list[Feature], progress: Progress) -> int:
    depth = dict(session.execute(select(AreaLevel.code, AreaLevel.depth)).all())
    unknown = sorted({p["level"] for p, _ in areas} - set(depth))
    if unknown:
        raise InvalidParameter("level", f"areas.geojson uses levels {unknown} that city.json does not define.")
    ordered = sorted(areas, key=lambda a: (depth[a[0]["level"]], a[0]["code"]))
    ids: dict[str, int] = {}
    with progress(ordered, "areas") as bar:
        for props, geom in bar:
            parent = props.get("parent_code")
            if parent and parent not in ids:
                raise InvalidParameter("parent_code", f"area {props['code']} names parent {parent}, "
                                       "which is not in areas.geojson above it.")
            row = session.execute(
                insert(Area).returning(Area.id),
                {
                    "version_id": version.id, "code": props["code"], "name": props["name"], "level": props["level"],
                    "parent_id": ids.get(parent) if parent else None, "households": int(props.get("households") or 0),
                    "population": props.get("population"), "geom": _wkb(_multi(geom, f"area {props['code']}")),
                },
            )
            ids[props["code"]] = row.scalar_one()
    return len(ids)


def _load_roads(session: Session, city_dir: Path, progress: Progress) -> int:
    rows = [{"name": p.get("name"), "kind": p.get("kind", "local"), "geom": _wkb(g)}
            for p, g in reading.features(city_dir / "roads.geojson")]
    _bulk(session, Road, rows, "roads", progress)
    return len(rows)


def _load_buildings(session: Session, city_dir: Path, now: datetime, progress: Progress) -> tuple[dict[str, int], dict[str, int]]:
    """The buildings and their households; returns the ids they were stored as, by code."""
    rows = []
    for p, g in reading.features(city_dir / "buildings.geojson"):
        if p.get("entrance_lon") is not None:
            location: BaseGeometry = Point(p["entrance_lon"], p["entrance_lat"])
        elif g is not None:
            location = g.representative_point()
        else:
            raise InvalidParameter("geometry", f"building {p['code']} has neither an entrance nor a footprint.")
        rows.append({
            "code": p["code"], "name": p.get("name"), "address": p.get("address"),
            "address_norm": normalize_address(p["address"]) if p.get("address") else None,
            "compound": p.get("compound"), "use": p.get("use") or "residential", "floors": p.get("floors"),
            "households": int(p.get("households") or 0), "location": _wkb(location),
            "footprint": _wkb(_multi(g, f"building {p['code']}")) if g is not None else None, "updated_at": now,
        })
    _bulk(session, Building, rows, "buildings", progress)
    building_ids = dict(session.execute(select(Building.code, Building.id)).all())
    households = [
        {
            "code": h["code"], "building_id": building_ids[reading.required(h, "building_code", "households.csv")],
            "unit": h.get("unit"), "floor": reading.optional_int(h.get("floor")), "room": h.get("room"),
            "persons": reading.optional_int(h.get("persons")),
            "tags": [t for t in (h.get("tags") or "").split(";") if t],
        }
        for h in reading.rows(city_dir / "households.csv")
    ]
    _bulk(session, Household, households, "households", progress)
    household_ids = dict(session.execute(select(Household.code, Household.id)).all())
    return building_ids, household_ids


def _load_workers(session: Session, city_dir: Path, manifest: dict[str, Any], layer: Layer, progress: Progress) -> dict[str, int]:
    """The workers (at their last known position), their assignments and shifts; returns their ids by code."""
    seen = reading.ts(manifest.get("snapshot_at"))
    rows = [
        {
            "code": p["code"], "name": p["name"], "phone": p.get("phone"), "role": p["role"],
            "department_code": p.get("department_code"), "active": True,
            "last_position": _wkb(g), "last_seen_at": seen if g is not None else None,
        }
        for p, g in reading.features(city_dir / "workers.geojson")
    ]
    _bulk(session, Worker, rows, "workers", progress)
    worker_ids = dict(session.execute(select(Worker.code, Worker.id)).all())
    assignments = [
        {
            "worker_id": worker_ids[reading.required(a, "worker_code", "assignments.csv")], "layer_id": layer.id,
            "area_code": a["area_code"], "duty": a["duty"], "valid_from": reading.ts(a["valid_from"]), "valid_to": None,
        }
        for a in reading.rows(city_dir / "assignments.csv")
    ]
    _bulk(session, Assignment, assignments, "assignments", progress)
    shifts = [
        {
            "worker_id": worker_ids[reading.required(s, "worker_code", "shifts.csv")],
            "weekday": int(reading.required(s, "weekday", "shifts.csv")),
            "start_time": time.fromisoformat(reading.required(s, "start", "shifts.csv")),
            "end_time": time.fromisoformat(reading.required(s, "end", "shifts.csv")),
        }
        for s in reading.rows(city_dir / "shifts.csv")
    ]
    _bulk(session, Shift, shifts, "shifts", progress)
    return worker_ids


def _load_patrols(session: Session, city_dir: Path, building_ids: Mapping[str, int], household_ids: Mapping[str, int],
                  now: datetime, progress: Progress) -> int:
    """Who needs visits (patrols.csv, when the city has one)."""
    path = city_dir / "patrols.csv"
    if not path.exists():
        return 0
    rows = [
        {
            "household_id": _id_of(household_ids, p.get("household_code")),
            "building_id": building_ids[reading.required(p, "building_code", "patrols.csv")],
            "kind": p["kind"], "person": p.get("person") or None, "phone": p.get("phone") or None,
            "id_number": p.get("id_number") or None, "interval_days": int(reading.required(p, "interval_days", "patrols.csv")),
            "active": True, "last_visit_at": reading.ts(p.get("last_visit_at")), "created_at": reading.ts(p.get("registered_at")) or now,
        }
        for p in reading.rows(path)
    ]
    _bulk(session, PatrolRegister, rows, "patrols", progress)
    return len(rows)


def _load_tasks(session: Session, city_dir: Path, building_ids: Mapping[str, int], household_ids: Mapping[str, int],
                worker_ids: Mapping[str, int], now: datetime, progress: Progress) -> int:
    """The tasks (tasks.csv, when the city has one): patrol visits done and scheduled."""
    path = city_dir / "tasks.csv"
    if not path.exists():
        return 0
    # a patrol visit belongs to the register of the person visited (the household's, earliest registered)
    register: dict[int | None, int] = {}
    for pid, hid in session.execute(select(PatrolRegister.id, PatrolRegister.household_id).order_by(PatrolRegister.id.desc())):
        register[hid] = pid
    rows = []
    for t in reading.rows(path):
        household = _id_of(household_ids, t.get("household_code"))
        lon = t.get("lon")
        rows.append({
            "kind": t["kind"], "title": t["title"], "status": t["status"], "incident_id": None,
            "worker_id": _id_of(worker_ids, t.get("worker_code")), "area_code": t.get("area_code"),
            "building_id": _id_of(building_ids, t.get("building_code")), "household_id": household,
            "location": _wkb(Point(float(lon), float(reading.required(t, "lat", "tasks.csv")))) if lon else None,
            "scheduled_for": reading.ts(t.get("scheduled_for")), "due_at": reading.ts(t.get("due_at")),
            "completed_at": reading.ts(t.get("completed_at")), "note": None, "created_at": now,
            "patrol_id": register.get(household) if t["kind"] == "patrol" else None,
        })
    _bulk(session, Task, rows, "tasks", progress)
    return len(rows)
