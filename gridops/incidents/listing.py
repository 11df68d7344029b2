"""Incidents as a list and as GeoJSON: what the live map draws and a client pages through.

The same who-sees-what as one incident (gridops.access.policy.can_see), but as one
query: staff see all; a worker the ground they answer for and their own work; a
department its incidents; a resident their own reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from gridops.geo.crs import STORAGE_SRID

from gridops.access.policy import ALL, DEPARTMENT, GROUND, OWN, Principal
from gridops.core import clock
from gridops.core.errors import InvalidParameter
from gridops.core.models import Area, Attachment, Category, Incident, IncidentEvent, IncidentFlag, Worker
from gridops.core.shapes import to_point
from gridops.core.words import Say
from gridops.incidents.loop import CLOSED, OPEN
from gridops.incidents.names import STATUS_NAMES, ZH, name
from gridops.incidents.photos import thumbnail_unavailable

STATUSES = (*OPEN, *CLOSED)
MAX_LIMIT = 50_000


def visible(stmt: Select[*tuple[Any, ...]], principal: Principal | None, grid: type[Area]) -> Select[*tuple[Any, ...]]:
    """gridops.access.policy.can_see, as a WHERE clause (no principal: the system, which sees all)."""
    if principal is None:
        return stmt
    sees = principal.policy.sees
    if sees == ALL:
        return stmt
    if sees == OWN:  # their reports, and the incidents their reports were merged into
        merged = aliased(Incident)
        joined = select(merged.merged_into_id).where(merged.reporter_user_id == principal.user_id, merged.status == "merged")
        return stmt.where(or_(Incident.reporter_user_id == principal.user_id, Incident.id.in_(joined)))
    mine = Incident.assignee_id == principal.worker_id if principal.worker_id is not None else false()
    if sees == DEPARTMENT:
        return stmt.where(or_(mine, and_(Incident.department_code.is_not(None), Incident.department_code == principal.department_code)))
    if sees == GROUND and principal.areas:
        return stmt.where(or_(mine, *[grid.code.like(a + "%") for a in principal.areas]))
    return stmt.where(mine)


def incidents_geojson(session: Session, principal: Principal | None, filters: Mapping[str, Any], limit: int = 1000,
                      offset: int = 0) -> dict[str, Any]:
    """A FeatureCollection of the incidents matching `filters` (status, category, area, since, until, bbox)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter("limit", Say("`limit` is 1 to %(max_limit)s; got %(limit)s.", max_limit=format(MAX_LIMIT, ","), limit=limit))
    grid = aliased(Area)
    micro = aliased(Area)
    stmt = (select(Incident, grid.code, micro.code, Category.name, Worker.code, Worker.name, grid.name)
            .join(grid, grid.id == Incident.grid_id).outerjoin(micro, micro.id == Incident.micro_grid_id)
            .join(Category, Category.code == Incident.category_code).outerjoin(Worker, Worker.id == Incident.assignee_id))
    stmt = _filtered(session, stmt, filters, grid)
    stmt = visible(stmt, principal, grid)
    total = session.scalar(select(func.count()).select_from(stmt.with_only_columns(Incident.id).subquery()))
    rows = session.execute(stmt.order_by(Incident.reported_at.desc(), Incident.id.desc()).limit(limit).offset(offset)).all()
    now = clock.now()
    ids = [row[0].id for row in rows]
    photos = photos_of(session, ids)
    flagged = _flag_counts(session, ids)
    features = []
    for inc, grid_code, micro_code, cat_name, w_code, w_name, grid_name in rows:
        p = to_point(inc.location)
        features.append({"type": "Feature", "id": inc.id,
                         "geometry": {"type": "Point", "coordinates": [round(p.x, 7), round(p.y, 7)]},
                         "properties": {
                             "id": inc.id, "status": inc.status, "status_name": name(STATUS_NAMES, inc.status, ZH),
                             "status_name_en": name(STATUS_NAMES, inc.status, "en"),
                             "category": inc.category_code, "category_name": cat_name,
                             "urgency": inc.urgency, "description": (inc.description or "")[:300],
                             "reported_at": inc.reported_at.isoformat(), "due_at": inc.due_at.isoformat(),
                             "overdue": inc.status in OPEN and inc.due_at < now, "supervised": inc.supervised_at is not None,
                             "grid": grid_code, "grid_name": grid_name, "micro_grid": micro_code,
                             "address": inc.address_text, "tier": inc.tier, "department": inc.department_code,
                             "assignee": {"code": w_code, "name": w_name} if w_code else None,
                             "photos": photos.get(inc.id, []), "flags": flagged.get(inc.id, 0),
                         }})
    return {"type": "FeatureCollection", "features": features, "total": total, "limit": limit, "offset": offset}


def photos_of(session: Session, incident_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each incident's photos in the order they came, with the step they came with (report, resolve, …):
    the verifier compares the report's with the resolution's."""
    out: dict[int, list[dict[str, Any]]] = {}
    ids = list(incident_ids)
    for start in range(0, len(ids), 500):  # bounded IN lists
        rows = session.execute(
            select(Attachment, IncidentEvent.action).outerjoin(IncidentEvent, IncidentEvent.id == Attachment.event_id)
            .where(Attachment.incident_id.in_(ids[start:start + 500])).order_by(Attachment.id))
        for a, action in rows:
            photo: dict[str, Any] = {"sha256": a.sha256, "content_type": a.content_type, "size": a.size_bytes,
                                     "step": action or "report"}
            reason = thumbnail_unavailable(a.content_type)
            if reason:
                photo["thumbnail_unavailable"] = reason
            out.setdefault(a.incident_id, []).append(photo)
    return out


def in_area_and_time(stmt: Select[*tuple[Any, ...]], f: Mapping[str, Any], grid: type[Area],
                     at: Any) -> Select[*tuple[Any, ...]]:
    """The filters every list shares: `area` (a code prefix of the grid) and `since` <= `at` < `until`."""
    if f.get("area"):
        stmt = stmt.where(grid.code.like(str(f["area"]) + "%"))
    if f.get("since"):
        stmt = stmt.where(at >= f["since"])
    if f.get("until"):
        stmt = stmt.where(at < f["until"])
    return stmt


def _flag_counts(session: Session, ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for start in range(0, len(ids), 500):  # bounded IN lists
        chunk = ids[start:start + 500]
        out.update({i: n for i, n in session.execute(
            select(IncidentFlag.incident_id, func.count()).where(IncidentFlag.incident_id.in_(chunk)).group_by(IncidentFlag.incident_id))})
    return out


def _filtered(session: Session, stmt: Select[*tuple[Any, ...]], f: Mapping[str, Any], grid: type[Area]) -> Select[*tuple[Any, ...]]:
    status = f.get("status") or "open"
    if status == "open":
        stmt = stmt.where(Incident.status.in_(OPEN))
    elif status != "all":
        wanted = [s.strip() for s in str(status).split(",") if s.strip()]
        bad = [s for s in wanted if s not in STATUSES]
        if bad:
            raise InvalidParameter("status", Say("unknown status %(bad)r; use open, all, or any of %(statuses)s.",
                                                 bad=bad[0], statuses=', '.join(STATUSES)),
                                   allowed=["open", "all", *STATUSES])
        stmt = stmt.where(Incident.status.in_(wanted))
    if f.get("category"):
        cat = str(f["category"])
        codes = list(session.scalars(select(Category.code).where(or_(Category.code == cat, Category.group_code == cat))))
        if not codes:
            groups = {g for g in session.scalars(select(Category.group_code)) if g is not None}
            known = sorted(set(session.scalars(select(Category.code))) | groups)
            raise InvalidParameter("category", Say("no category or group %(cat)r; known: %(known)s.", cat=cat,
                                                   known=', '.join(known)), allowed=known)
        stmt = stmt.where(Incident.category_code.in_(codes))
    stmt = in_area_and_time(stmt, f, grid, Incident.reported_at)
    if f.get("overdue"):
        stmt = stmt.where(Incident.status.in_(OPEN), Incident.due_at < clock.now())
    if f.get("bbox"):
        minx, miny, maxx, maxy = f["bbox"]
        box = f"POLYGON(({minx} {miny},{maxx} {miny},{maxx} {maxy},{minx} {maxy},{minx} {miny}))"
        stmt = stmt.where(func.ST_Intersects(Incident.location, func.ST_GeomFromText(box, STORAGE_SRID)))
    return stmt
