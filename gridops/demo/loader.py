"""Load a city directory (as `gridops demo-city` writes it) into the database.

One transaction: a load that fails part-way leaves nothing behind. Incidents are
placed by their coordinates against the boundary version being loaded, with the
same index and tie-break the geocoder uses, so what is stored is what a live
report at that spot would get.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from gridops.core import clock
from gridops.geo.crs import STORAGE_SRID
from gridops.geo.hexes import cells_of
from gridops.geo.geocode import LayerIndex
from gridops.geo.index import SNAPPED, STATUS

from gridops.reference.calendar import WorkCalendar
from gridops.core.errors import Conflict, InvalidParameter
from gridops.core.models import (
    Area,
    AreaLevel,
    Assignment,
    BoundaryVersion,
    Building,
    CalendarDay,
    Category,
    Department,
    Household,
    Incident,
    IncidentEvent,
    IncidentFollower,
    Layer,
    PatrolRegister,
    Road,
    Shift,
    StreamEvent,
    Task,
    Worker,
)
from gridops.boundaries.normalize import normalize_address

Progress = Callable[[Iterable[Any], str], Any]
_CHUNK = 2000
SUPPORTED_FORMAT = 1


def _no_progress(items: Iterable[Any], label: str):
    @contextmanager
    def bar() -> Iterator[Iterable[Any]]:
        yield items

    return bar()


def _ts(value: str | None) -> datetime | None:
    if value in (None, ""):
        return None
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise InvalidParameter("time", f"time {value!r} has no zone; city files carry UTC times ending in Z.")
    return t


def _wkb(geom: BaseGeometry | None):
    return None if geom is None else from_shape(geom, srid=STORAGE_SRID)


def _multi(geom: BaseGeometry) -> MultiPolygon:
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


def _features(path: Path) -> list[tuple[dict[str, Any], BaseGeometry | None]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [
        (f["properties"], shape(f["geometry"]) if f.get("geometry") else None) for f in doc["features"]
    ]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(fh)]


def _bulk(session: Session, model, rows: list[dict[str, Any]], label: str, progress: Progress) -> None:
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
    progress = progress or _no_progress
    manifest_path = city_dir / "city.json"
    if not manifest_path.exists():
        raise InvalidParameter("city_dir", f"{city_dir} has no city.json: is it a directory written by `gridops demo-city`?")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != SUPPORTED_FORMAT:
        raise InvalidParameter("city_dir", f"{manifest_path} is format {manifest.get('format')!r}; this gridops reads format {SUPPORTED_FORMAT}.")
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

    areas = _features(city_dir / "areas.geojson")
    counts["areas"] = _load_areas(session, version, areas, progress)
    for extra in manifest.get("layers", []):
        other = _new_layer_version(session, extra, manifest, city_dir, now)
        counts[f"{extra['code']} areas"] = _load_areas(session, other, _features(city_dir / extra["file"]), progress)
    counts["roads"] = _load_roads(session, city_dir, progress)
    building_ids, household_ids = _load_buildings(session, city_dir, now, progress)
    counts["buildings"], counts["households"] = len(building_ids), len(household_ids)
    worker_ids = _load_workers(session, city_dir, manifest, layer, progress)
    counts["workers"] = len(worker_ids)
    counts["incidents"], counts["events"] = _load_incidents(
        session, city_dir, manifest, config, version, areas, building_ids, household_ids, worker_ids, progress
    )
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
        layer_id=layer.id, number=1, status="published", effective_from=_ts(manifest["effective_from"]),
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
    for c in manifest.get("categories", []):
        fields = {k: v for k, v in c.items() if k in Category.__table__.columns}
        session.merge(Category(**fields, active=True))
    for day in manifest.get("calendar", []):
        session.merge(CalendarDay(day=date.fromisoformat(day["day"]), kind=day["kind"], name=day.get("name")))
    session.flush()


def _load_areas(session: Session, version: BoundaryVersion, areas, progress: Progress) -> int:
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
                raise InvalidParameter("parent_code", f"area {props['code']} names parent {parent}, which is not in areas.geojson above it.")
            row = session.execute(
                insert(Area).returning(Area.id),
                {
                    "version_id": version.id, "code": props["code"], "name": props["name"], "level": props["level"],
                    "parent_id": ids.get(parent) if parent else None, "households": int(props.get("households") or 0),
                    "population": props.get("population"), "geom": _wkb(_multi(geom)),
                },
            )
            ids[props["code"]] = row.scalar_one()
    return len(ids)


def _load_roads(session: Session, city_dir: Path, progress: Progress) -> int:
    rows = [{"name": p.get("name"), "kind": p.get("kind", "local"), "geom": _wkb(g)} for p, g in _features(city_dir / "roads.geojson")]
    _bulk(session, Road, rows, "roads", progress)
    return len(rows)


def _load_buildings(session: Session, city_dir: Path, now: datetime, progress: Progress):
    rows = []
    for p, g in _features(city_dir / "buildings.geojson"):
        rows.append({
            "code": p["code"], "name": p.get("name"), "address": p.get("address"),
            "address_norm": normalize_address(p["address"]) if p.get("address") else None,
            "compound": p.get("compound"), "use": p.get("use") or "residential", "floors": p.get("floors"),
            "households": int(p.get("households") or 0), "location": _wkb(Point(p["entrance_lon"], p["entrance_lat"]) if p.get("entrance_lon") is not None else g.representative_point()),
            "footprint": _wkb(_multi(g)) if g is not None else None, "updated_at": now,
        })
    _bulk(session, Building, rows, "buildings", progress)
    building_ids = dict(session.execute(select(Building.code, Building.id)).all())
    households = [
        {
            "code": h["code"], "building_id": building_ids[h["building_code"]], "unit": h.get("unit"),
            "floor": int(h["floor"]) if h.get("floor") else None, "room": h.get("room"),
            "persons": int(h["persons"]) if h.get("persons") else None,
            "tags": [t for t in (h.get("tags") or "").split(";") if t],
        }
        for h in _rows(city_dir / "households.csv")
    ]
    _bulk(session, Household, households, "households", progress)
    household_ids = dict(session.execute(select(Household.code, Household.id)).all())
    return building_ids, household_ids


def _load_workers(session: Session, city_dir: Path, manifest: dict[str, Any], layer: Layer, progress: Progress) -> dict[str, int]:
    seen = _ts(manifest.get("snapshot_at"))
    rows = [
        {
            "code": p["code"], "name": p["name"], "phone": p.get("phone"), "role": p["role"],
            "department_code": p.get("department_code"), "active": True,
            "last_position": _wkb(g), "last_seen_at": seen if g is not None else None,
        }
        for p, g in _features(city_dir / "workers.geojson")
    ]
    _bulk(session, Worker, rows, "workers", progress)
    worker_ids = dict(session.execute(select(Worker.code, Worker.id)).all())
    assignments = [
        {
            "worker_id": worker_ids[a["worker_code"]], "layer_id": layer.id, "area_code": a["area_code"],
            "duty": a["duty"], "valid_from": _ts(a["valid_from"]), "valid_to": None,
        }
        for a in _rows(city_dir / "assignments.csv")
    ]
    _bulk(session, Assignment, assignments, "assignments", progress)
    shifts = [
        {
            "worker_id": worker_ids[s["worker_code"]], "weekday": int(s["weekday"]),
            "start_time": time.fromisoformat(s["start"]), "end_time": time.fromisoformat(s["end"]),
        }
        for s in _rows(city_dir / "shifts.csv")
    ]
    _bulk(session, Shift, shifts, "shifts", progress)
    return worker_ids


def _layer_index(session: Session, version: BoundaryVersion, areas) -> tuple[LayerIndex, list[int]]:
    """The geocoder's own index over the areas being loaded, and their row ids."""
    level_order = list(session.scalars(select(AreaLevel.code).order_by(AreaLevel.depth)))
    codes = [p["code"] for p, _ in areas]
    position = {c: k for k, c in enumerate(codes)}
    index = LayerIndex(
        codes, [p["level"] for p, _ in areas], [position.get(p.get("parent_code"), -1) for p, _ in areas],
        [g for _, g in areas], level_order,
    )
    ids = dict(session.execute(select(Area.code, Area.id).where(Area.version_id == version.id)).all())
    return index, [ids[c] for c in codes]


def _load_incidents(
    session, city_dir, manifest, config, version, areas, building_ids, household_ids, worker_ids, progress
) -> tuple[int, int]:
    features = _features(city_dir / "incidents.geojson")
    if not features:
        return 0, 0
    categories = {c.code: c for c in session.scalars(select(Category))}
    zone = ZoneInfo(config["TIMEZONE"])  # reported_day is the service's local day
    calendar = WorkCalendar.from_days(
        manifest.get("timezone", config["TIMEZONE"]), session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
    )
    index, area_ids = _layer_index(session, version, areas)
    lon = np.array([g.x for _, g in features])
    lat = np.array([g.y for _, g in features])
    placed = index.locate(lon, lat)
    grid = placed.areas[:, placed.levels.index("grid")]
    micro = placed.areas[:, placed.levels.index("micro_grid")] if "micro_grid" in placed.levels else np.full(len(lon), -1)

    cells = cells_of(lon, lat)
    rows, refs, merged = [], [], {}
    for k, (p, g) in enumerate(features):
        if grid[k] < 0:
            raise InvalidParameter(
                "incidents", f"incident {p['ref']} at {g.x:.6f},{g.y:.6f} is {placed.distance_m[k]:.0f} m outside every grid."
            )
        cat = categories.get(p["category"])
        if cat is None:
            raise InvalidParameter("category", f"incident {p['ref']} has category {p['category']!r}, which city.json does not define.")
        reported = _ts(p["reported_at"])
        due = _ts(p.get("due_at")) or calendar.due(reported, cat.time_limit_minutes, cat.working_time)
        rows.append({
            "category_code": cat.code, "description": p.get("description"), "status": p["status"],
            "urgency": cat.urgency, "channel": p["channel"], "reporter_name": p.get("reporter_name"),
            "reporter_contact": p.get("reporter_contact"), "location": _wkb(g),
            "original_x": p.get("original_x"), "original_y": p.get("original_y"), "original_crs": p.get("original_crs"),
            "address_text": p.get("address_text"),
            "building_id": building_ids.get(p.get("building_code")), "household_id": household_ids.get(p.get("household_code")),
            "location_status": STATUS[placed.status[k]],
            "snap_distance_m": float(placed.distance_m[k]) if placed.status[k] == SNAPPED else None,
            "boundary_version_id": version.id, "grid_id": area_ids[grid[k]],
            "micro_grid_id": area_ids[micro[k]] if micro[k] >= 0 else None,
            "assignee_id": worker_ids.get(p.get("assignee")), "department_code": p.get("department_code"),
            "tier": p.get("tier") or "grid", "routing_reason": p.get("routing_reason"),
            "reported_at": reported, "reported_day": reported.astimezone(zone).date(), "due_at": due,
            "closed_at": _ts(p.get("closed_at")),
            "updated_at": reported, "rating": p.get("rating"), "lock_version": 1, "h3_cell": int(cells[k]),
        })
        refs.append(p["ref"])
        if p.get("merged_into"):
            merged[p["ref"]] = (p["merged_into"], p.get("reporter_name"), p.get("reporter_contact"), reported)

    events_by_ref: dict[str, list[dict[str, str]]] = {}
    for e in _rows(city_dir / "incident_events.csv"):
        events_by_ref.setdefault(e["incident_ref"], []).append(e)
    for row, ref in zip(rows, refs, strict=True):
        evs = events_by_ref.get(ref)
        if evs:
            row["updated_at"] = _ts(evs[-1]["at"])
    new_ids: list[int] = []
    chunks = [rows[i : i + _CHUNK] for i in range(0, len(rows), _CHUNK)]
    with progress(chunks, "incidents") as bar:
        for chunk in bar:
            stmt = insert(Incident).returning(Incident.id, sort_by_parameter_order=True)
            new_ids.extend(session.scalars(stmt, chunk))
    ids = dict(zip(refs, new_ids, strict=True))

    for ref, (original, name, contact, at) in merged.items():
        session.execute(update(Incident).where(Incident.id == ids[ref]).values(merged_into_id=ids[original]))
        session.execute(insert(IncidentFollower), {
            "incident_id": ids[original], "name": name, "contact": contact, "source_incident_id": ids[ref], "added_at": at,
        })

    event_rows = []
    for ref, evs in events_by_ref.items():
        for e in evs:
            actor = e["actor"]
            event_rows.append({
                "incident_id": ids[ref], "seq": int(e["seq"]), "at": _ts(e["at"]), "action": e["action"],
                "from_status": e.get("from_status"), "to_status": e.get("to_status"),
                "actor_id": worker_ids.get(actor), "actor_label": actor, "note": e.get("note"),
                "location": _wkb(Point(float(e["lon"]), float(e["lat"]))) if e.get("lon") else None,
                "data": None,
            })
    before = session.scalar(select(func.max(StreamEvent.id))) or 0
    _bulk(session, IncidentEvent, event_rows, "events", progress)
    # the database copies every new event to the live stream (migration 0005); a loaded
    # history is not live news, so its copies go
    session.execute(delete(StreamEvent).where(StreamEvent.id > before))
    return len(rows), len(event_rows)


def _load_patrols(session, city_dir, building_ids, household_ids, now, progress) -> int:
    path = city_dir / "patrols.csv"
    if not path.exists():
        return 0
    rows = [
        {
            "household_id": household_ids.get(p.get("household_code")), "building_id": building_ids[p["building_code"]],
            "kind": p["kind"], "person": p.get("person") or None, "phone": p.get("phone") or None,
            "id_number": p.get("id_number") or None, "interval_days": int(p["interval_days"]), "active": True,
            "last_visit_at": _ts(p.get("last_visit_at")), "created_at": _ts(p.get("registered_at")) or now,
        }
        for p in _rows(path)
    ]
    _bulk(session, PatrolRegister, rows, "patrols", progress)
    return len(rows)


def _load_tasks(session, city_dir, building_ids, household_ids, worker_ids, now, progress) -> int:
    path = city_dir / "tasks.csv"
    if not path.exists():
        return 0
    # a patrol visit belongs to the register of the person visited (the household's, earliest registered)
    register = {}
    for pid, hid in session.execute(select(PatrolRegister.id, PatrolRegister.household_id).order_by(PatrolRegister.id.desc())):
        register[hid] = pid
    rows = [
        {
            "kind": t["kind"], "title": t["title"], "status": t["status"], "incident_id": None,
            "worker_id": worker_ids.get(t.get("worker_code")), "area_code": t.get("area_code"),
            "building_id": building_ids.get(t.get("building_code")), "household_id": household_ids.get(t.get("household_code")),
            "location": _wkb(Point(float(t["lon"]), float(t["lat"]))) if t.get("lon") else None,
            "scheduled_for": _ts(t.get("scheduled_for")), "due_at": _ts(t.get("due_at")),
            "completed_at": _ts(t.get("completed_at")), "note": None, "created_at": now,
            "patrol_id": register.get(household_ids.get(t.get("household_code"))) if t["kind"] == "patrol" else None,
        }
        for t in _rows(path)
    ]
    _bulk(session, Task, rows, "tasks", progress)
    return len(rows)
