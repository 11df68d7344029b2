"""Resolutions whose photos do not fit the incident (虚假办结): checked when an incident is resolved,
kept with it, listed for those who verify.

A resolution photo is compared with the incident by what it says of itself (EXIF) and by its
content hash: taken before the incident was reported, or later than now (each beyond the clock skew
a phone may have), taken farther from the incident than the configured distance, or the very photo
that already resolved another incident. A flag never refuses the step — a worker may send a photo
late from a place with no signal, a phone's clock may be wrong — but it is recorded (a row per flag
and one `flag` event in the history, so the live feed carries it) and shown to the verifier and the
command centre, who judge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from gridops.geo.crs import distances_m

from gridops.access.policy import Principal
from gridops.core.errors import InvalidParameter
from gridops.core.models import Area, Attachment, Incident, IncidentEvent, IncidentFlag
from gridops.core.shapes import to_point
from gridops.core.words import Say
from gridops.incidents.context import Context
from gridops.incidents.events import record
from gridops.incidents.listing import in_area_and_time, visible
from gridops.incidents.photos import Photo, taken

BEFORE_REPORT, IN_FUTURE, FAR_AWAY, REUSED = "photo_before_report", "photo_in_future", "photo_far_away", "photo_reused"
# kind -> what it means, zh-CN first
KINDS: dict[str, tuple[str, str]] = {
    BEFORE_REPORT: ("照片拍摄时间早于事件上报时间", "the photo was taken before the incident was reported"),
    IN_FUTURE: ("照片拍摄时间晚于当前时间", "the photo says it was taken later than now"),
    FAR_AWAY: ("照片拍摄地点远离事件位置", "the photo was taken far from the incident"),
    REUSED: ("同一张照片已用于办结其他事件", "the same photo already resolved another incident"),
}
MAX_LIMIT = 1000


def check_resolution(session: Session, ctx: Context, incident: Incident, photos: Sequence[Photo], now: datetime) -> list[dict[str, Any]]:
    """The flags a resolution's photos raise (empty when they fit, or carry no EXIF and are new)."""
    found: list[dict[str, Any]] = []
    skew = timedelta(minutes=ctx.photo_clock_skew_minutes)
    where = to_point(incident.location)
    tz = ZoneInfo(ctx.timezone)
    seen: set[str] = set()
    for photo in photos:
        if photo.sha256 in seen:
            continue
        seen.add(photo.sha256)
        t = taken(photo.data, ctx.timezone)
        if t.at is not None:
            at = t.at.astimezone(tz).isoformat(timespec="seconds")
            if t.at < incident.reported_at - skew:
                found.append({"kind": BEFORE_REPORT, "sha256": photo.sha256, "taken_at": at,
                              "reported_at": incident.reported_at.astimezone(tz).isoformat(timespec="seconds")})
            elif t.at > now + skew:
                found.append({"kind": IN_FUTURE, "sha256": photo.sha256, "taken_at": at})
        if t.lon is not None and t.lat is not None:
            distance = float(distances_m(where.x, where.y, t.lon, t.lat)[0])
            if distance > ctx.photo_max_distance_m:
                found.append({"kind": FAR_AWAY, "sha256": photo.sha256, "distance_m": round(distance, 1),
                              "limit_m": ctx.photo_max_distance_m, "taken_at_location": {"lon": round(t.lon, 7), "lat": round(t.lat, 7)}})
    if seen:
        others: dict[str, set[int]] = {}
        for sha, other in session.execute(
                select(Attachment.sha256, Attachment.incident_id).join(IncidentEvent, IncidentEvent.id == Attachment.event_id)
                .where(Attachment.sha256.in_(sorted(seen)), Attachment.incident_id != incident.id, IncidentEvent.action == "resolve")):
            others.setdefault(sha, set()).add(other)
        for sha in sorted(others):
            found.append({"kind": REUSED, "sha256": sha, "incidents": sorted(others[sha])})
    return found


def record_flags(session: Session, incident: Incident, step_event: IncidentEvent, found: Sequence[Mapping[str, Any]],
                 now: datetime) -> None:
    """Keep the flags with the incident, and say so in its history (one `flag` event, on the live feed).
    The event names no other incident: whoever follows this one may not see that one."""
    if not found:
        return
    for f in found:
        data = {k: v for k, v in f.items() if k not in ("kind", "sha256")}
        session.add(IncidentFlag(incident_id=incident.id, event_id=step_event.id, kind=f["kind"], sha256=f.get("sha256"),
                                 data=data or None, created_at=now))
    public = [{k: v for k, v in f.items() if k != "incidents"} for f in found]
    note = "；".join(dict.fromkeys(KINDS[f["kind"]][0] for f in found))
    record(session, incident, "flag", None, None, at=now, note=f"办结照片存疑 / resolution photo questioned: {note}",
           data={"flags": public, "step_seq": step_event.seq})


def _seen_ids(session: Session, ids: Iterable[int], principal: Principal | None) -> set[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    grid = aliased(Area)
    stmt = select(Incident.id).join(grid, grid.id == Incident.grid_id).where(Incident.id.in_(wanted))
    return set(session.scalars(visible(stmt, principal, grid)))


def shown(session: Session, rows: Sequence[IncidentFlag], principal: Principal | None, tz: str) -> list[dict[str, Any]]:
    """Flags as an answer shows them: what each means (zh-CN / English), and the other incidents a reused
    photo resolved — only those the caller may see, so a flag does not reveal what exists elsewhere."""
    others = _seen_ids(session, (i for r in rows for i in (r.data or {}).get("incidents", [])), principal)
    out = []
    for r in rows:
        data = dict(r.data or {})
        zh, en = KINDS.get(r.kind, (r.kind, r.kind))
        if "incidents" in data:
            data["incidents"] = [i for i in data["incidents"] if i in others]
        if r.kind == FAR_AWAY and "distance_m" in data:
            zh, en = f"{zh}（{data['distance_m']:,.0f} 米）", f"{en} ({data['distance_m']:,.0f} m)"
        out.append({"id": r.id, "incident": r.incident_id, "kind": r.kind, "message": f"{zh} / {en}", "sha256": r.sha256,
                    "at": r.created_at.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds"), **data})
    return out


def flags_of(session: Session, incident_ids: Sequence[int], principal: Principal | None, tz: str) -> dict[int, list[dict[str, Any]]]:
    """The flags of some incidents (already known visible to the caller), by incident, oldest first."""
    out: dict[int, list[dict[str, Any]]] = {}
    ids = list(incident_ids)
    for start in range(0, len(ids), 500):  # bounded IN lists: SQLite's variables, PostgreSQL's plan size
        rows = list(session.scalars(select(IncidentFlag).where(IncidentFlag.incident_id.in_(ids[start:start + 500]))
                                    .order_by(IncidentFlag.id)))
        for f in shown(session, rows, principal, tz):
            out.setdefault(f["incident"], []).append(f)
    return out


def flag_list(session: Session, principal: Principal | None, filters: Mapping[str, Any], tz: str, limit: int = 100,
              offset: int = 0) -> dict[str, Any]:
    """The flags on incidents the caller sees, newest first: the command centre's list of resolutions to look
    at again (kind, area, since, until)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter("limit", Say("`limit` is 1 to %(max_limit)s; got %(limit)s.", max_limit=format(MAX_LIMIT, ","), limit=limit))
    grid = aliased(Area)
    stmt: Select[Any] = (select(IncidentFlag).join(Incident, Incident.id == IncidentFlag.incident_id)
                         .join(grid, grid.id == Incident.grid_id))
    if filters.get("kind"):
        kinds = [k.strip() for k in str(filters["kind"]).split(",") if k.strip()]
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            raise InvalidParameter("kind", Say("unknown flag kind %(bad)r; kinds: %(kinds)s.", bad=bad[0], kinds=', '.join(KINDS)),
                                   allowed=list(KINDS))
        stmt = stmt.where(IncidentFlag.kind.in_(kinds))
    stmt = in_area_and_time(stmt, filters, grid, IncidentFlag.created_at)
    stmt = visible(stmt, principal, grid)
    total = session.scalar(select(func.count()).select_from(stmt.with_only_columns(IncidentFlag.id).subquery()))
    rows = list(session.scalars(stmt.order_by(IncidentFlag.created_at.desc(), IncidentFlag.id.desc()).limit(limit).offset(offset)))
    on = {r.incident_id for r in rows}
    status = {i: st for i, st in session.execute(select(Incident.id, Incident.status).where(Incident.id.in_(on)))}
    flags = shown(session, rows, principal, tz)
    for f in flags:
        f["incident_status"] = status.get(f["incident"])
    return {"flags": flags, "total": total, "limit": limit, "offset": offset}
