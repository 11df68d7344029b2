"""Boundaries in and out: check a planner's file, publish it as a new version, export, compare layers.

A file may hold every level of a layer or only some (grids and micro-grids,
say): the levels it holds replace those of the version in force; the levels it
does not hold are carried over unchanged, so the new version is whole. Nothing
is stored unless the whole tree passes: geometry errors are never accepted;
household-count warnings are accepted only when the planner says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon
from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID
from gridops.geo.validate import AreaRecord, Finding, validate_tree

from gridops.boundaries.areas import version_in_force
from gridops.boundaries.files import read_areas
from gridops.boundaries.levels import level_rules
from gridops.core import clock
from gridops.core.errors import Conflict, GridopsError, InvalidParameter
from gridops.core.models import Area, BoundaryVersion, Layer
from gridops.core.words import Say


class ImportRefused(GridopsError):
    """The file has errors (or unaccepted warnings): nothing was stored."""

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


def _carried_over(session: Session, layer: str, levels_in_file: set[str], at: datetime) -> list[AreaRecord]:
    version = version_in_force(session, layer, at)
    if version is None:
        return []
    return version_records(session, version.id, Area.level.not_in(levels_in_file))


def version_records(session: Session, version_id: int, *where: ColumnElement[bool]) -> list[AreaRecord]:
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
        raise InvalidParameter("file", Say("%(name)s holds no areas.", name=path.name))
    levels = {r.level for r in records}
    carried = _carried_over(session, layer, levels, effective or clock.now())
    tree = carried + records
    findings = [_with_level_hint(f) for f in validate_tree(tree, level_rules(session), tolerance_m2)]
    report = Report(
        layer=layer,
        source=source or path.name,
        areas=_count_levels(records),
        carried=_count_levels(carried),
        findings=findings,
    )
    return report, tree


LEVEL_HINT = ("A layer with a tree of its own (police beats, census tracts…) needs its levels defined first: "
              "`gridops grids add-level CODE --name NAME --depth N --code-digits D`, then use CODE in the file's `level` column.")


def _with_level_hint(f: Finding) -> Finding:
    """A level the database does not know, or codes whose length does not fit a level's digits: say how to define one."""
    if f.kind == "unknown_level" or (f.kind == "code_hierarchy" and "character" in f.message):
        return replace(f, message=f"{f.message} {LEVEL_HINT}")
    return f


def _count_levels(records: list[AreaRecord]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        out[r.level] = out.get(r.level, 0) + 1
    return out


def publish(session: Session, path: Path, layer: str, *, effective: datetime | None = None, accept_warnings: bool = False,
            crs: str | None = None, tolerance_m2: float = 1.0, source: str | None = None,
            created_by: str | None = None, supersede: bool = False) -> tuple[BoundaryVersion, Report]:
    """Check, then store the file as a new published version of `layer`; all or nothing. With no
    `effective` time it takes effect when it is stored, not when the (long) check began."""
    report, tree = check(session, path, layer, crs=crs, effective=effective or clock.now(), tolerance_m2=tolerance_m2,
                         source=source)
    if report.errors:
        raise ImportRefused(
            Say("%(source)s: %(n_errors)s error(s); nothing was stored. First: %(message)s",
                source=report.source, n_errors=len(report.errors), message=report.errors[0].message),
            report=report.as_json(),
        )
    if report.warnings and not accept_warnings:
        raise ImportRefused(
            Say("%(source)s: %(n_warnings)s warning(s) and accept_warnings was not given; nothing was stored. First: "
                "%(message)s",
                source=report.source, n_warnings=len(report.warnings), message=report.warnings[0].message),
            report=report.as_json(),
        )
    note = f"{sum(report.areas.values())} areas from the file, {sum(report.carried.values())} carried over"
    return store_version(session, tree, layer, effective=effective, source=report.source, note=note,
                         created_by=created_by, supersede=supersede), report


def scheduled_after(session: Session, layer_id: int, at: datetime) -> list[BoundaryVersion]:
    """Published versions of a layer that take effect after `at`: each would replace a version made
    effective at `at` when its own time came."""
    return list(session.scalars(select(BoundaryVersion).where(
        BoundaryVersion.layer_id == layer_id, BoundaryVersion.status == "published", BoundaryVersion.effective_from > at)
        .order_by(BoundaryVersion.effective_from)))


def store_version(session: Session, tree: list[AreaRecord], layer: str, *, effective: datetime | None, source: str,
                  note: str, created_by: str | None, supersede: bool = False) -> BoundaryVersion:
    """Store a checked tree of areas as the next published version of `layer` (in the caller's transaction).

    `effective` None: from the moment the areas are stored (the commit follows at once). A version
    already scheduled for later would silently undo this one when its time came: refused (409),
    naming it, unless `supersede` cancels it (its status becomes superseded)."""
    now = clock.now()
    layer_row = session.scalar(select(Layer).where(Layer.code == layer))
    if layer_row is None:
        layer_row = Layer(code=layer, name=layer, description=f"imported from {source}", created_at=now)
        session.add(layer_row)
        session.flush()
    later = scheduled_after(session, layer_row.id, effective or now)
    if later and not supersede:
        first = later[0]
        raise Conflict(
            Say("version %(number)s of %(layer)s is scheduled from %(value)s and would undo this one then; publish with "
                "supersede to cancel it, or take effect after it.",
                number=first.number, layer=layer, value=first.effective_from.isoformat()),
            scheduled={"number": first.number, "effective_from": first.effective_from.isoformat()},
            field="effective")
    for v in later:
        v.status = "superseded"
    number = (session.scalar(select(func.max(BoundaryVersion.number)).where(BoundaryVersion.layer_id == layer_row.id)) or 0) + 1
    version = BoundaryVersion(
        layer_id=layer_row.id, number=number, status="published", effective_from=effective or now, published_at=now,
        source=source, note=note, created_by=created_by, created_at=now,
    )
    session.add(version)
    session.flush()
    rules = level_rules(session)
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
    if effective is None:  # in force from now, after the inserts: no lookup meanwhile saw half of it
        version.effective_from = version.published_at = clock.now()
        session.flush()
    return version


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
