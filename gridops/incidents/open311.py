"""Open311 GeoReport v2 over the same incidents: categories are the services,
incidents the service requests, the district code the jurisdiction.

A GET never shows a reporter or a phone number. Without an api_key it is the
public view: only categories marked `public`, each place moved to its micro-grid's
centroid (its grid's, without one) with the micro-grid's name for an address, and
no words at all for categories marked `sensitive` (care, disputes, police). With an
api_key a client reads what its user's role sees (gridops.access.policy), as
exactly as the API gives it, and `media_url` is the first photo's address (fetched
with the same token as a Bearer header). The public view gives no photo: a photo
shows faces, number plates and doors, and its EXIF the exact position — none of
which the rounded place and the withheld words of the public view would hide.
Ids are strings. Times carry the city's offset.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from geoalchemy2.shape import to_shape
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from gridops.access.policy import Principal, Unauthorized
from gridops.boundaries.areas import StoredAreaFacts
from gridops.core import clock
from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import Area, Attachment, Building, Category, Department, Incident, IncidentEvent
from gridops.core.shapes import to_point
from gridops.core.timeparse import parse_time
from gridops.core.types import stored_id
from gridops.core.words import Say
from gridops.incidents.intake.submission import NewReport
from gridops.incidents.listing import visible
from gridops.incidents.loop import CLOSED

SPEC = "http://wiki.open311.org/GeoReport_v2"
MAX_PAGE = 1000
MAX_SPAN = timedelta(days=90)
MediaUrl = Callable[[int, str], str]  # (incident id, photo sha256) -> the photo's absolute URL


def _w3(value: datetime | None, tz: str) -> str | None:
    return value.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds") if value else None


def check_jurisdiction(session: Session, jurisdiction: str | None) -> str:
    """The district code this endpoint serves; another one is not found."""
    district = session.scalar(
        select(Area.code).where(Area.level == "district").order_by(Area.version_id.desc()).limit(1)
    ) or ""
    if jurisdiction not in (None, "", district):
        raise NotFound(Say("jurisdiction_id %(jurisdiction)r not found; this endpoint serves %(district)s.",
                           jurisdiction=jurisdiction, district=district))
    return district


def discovery(base_url: str, district: str) -> dict[str, Any]:
    return {
        "changeset": "2026-11-23T00:00:00+08:00",
        "contact": "gridops command centre (指挥中心)",
        "key_service": "an api_key is a gridops user token: `gridops users add NAME --role resident`",
        "endpoints": [{
            "specification": SPEC, "url": base_url, "changeset": "2026-11-23T00:00:00+08:00", "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
        "jurisdiction_id": district,
    }


def _service(c: Category) -> dict[str, Any]:
    return {
        "service_code": c.code, "service_name": c.name, "description": c.description or c.name_en,
        "metadata": False, "type": "realtime", "keywords": ", ".join((c.keywords or "").split()), "group": c.group_code or "",
    }


def services(session: Session) -> list[dict[str, Any]]:
    return [_service(c) for c in session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code))]


def service_definition(session: Session, code: str) -> dict[str, Any]:
    category = session.get(Category, code)
    if category is None or not category.active:
        raise NotFound(Say("service_code %(code)r not found.", code=code))
    return {"service_code": category.code, "attributes": []}  # no extra form fields: metadata is false


def _status(incident: Incident) -> str:
    return "closed" if incident.status in CLOSED else "open"


def _load_centroid(session: Session, area_id: int) -> tuple[float, float] | None:
    geom = session.scalar(select(Area.geom).where(Area.id == area_id))
    if geom is None:
        return None
    c = to_shape(geom).centroid
    return c.x, c.y


# where the public view places an incident: its micro-grid's (or grid's) centroid
_CENTROIDS: StoredAreaFacts[tuple[float, float]] = StoredAreaFacts(_load_centroid)


def _request(session: Session, incident: Incident, tz: str, public: bool, media: MediaUrl | None = None) -> dict[str, Any]:
    """One service request. `public`: the anonymous view — placed at its micro-grid's centroid under the
    micro-grid's name, no notes, no photo, and no words at all for a sensitive category. `media`: how a
    photo's URL is made, for `media_url` (the first photo of the incident, a caller who may see it)."""
    category = session.get(Category, incident.category_code)
    grid = session.get(Area, incident.grid_id)
    assert category is not None and grid is not None  # NOT NULL foreign keys of the incident
    if incident.department_code:
        agency = session.scalar(select(Department.name).where(Department.code == incident.department_code))
    else:
        agency = grid.name if public else f"{grid.name} ({grid.code})"
    merged = f"Duplicate of request {incident.merged_into_id}." if incident.status == "merged" else None
    if public:
        place = session.get(Area, incident.micro_grid_id) if incident.micro_grid_id else None
        place = place or grid
        found = _CENTROIDS.get(session, place.id)
        assert found is not None  # the area row was just read
        x, y = round(found[0], 5), round(found[1], 5)
        notes = merged or incident.status
        media_url: str | None = None  # faces, plates, doors, EXIF positions: not for the public view
        description: str | None = None if category.sensitive else incident.description
        address: str | None = place.name
        address_id: str | None = None
    else:
        point = to_point(incident.location)
        x, y = round(point.x, 7), round(point.y, 7)
        building = session.get(Building, incident.building_id) if incident.building_id else None
        last_note = session.scalar(
            select(IncidentEvent.note).where(IncidentEvent.incident_id == incident.id, IncidentEvent.note.is_not(None))
            .order_by(IncidentEvent.seq.desc()).limit(1)
        )
        notes = merged or (f"{incident.status}: {last_note}" if last_note and incident.status not in ("reported",)
                           else incident.status)
        description = incident.description
        address = incident.address_text or (building.address if building else grid.name)
        address_id = building.code if building else None
        first = session.scalar(select(Attachment.sha256).where(Attachment.incident_id == incident.id)
                               .order_by(Attachment.id).limit(1)) if media else None
        media_url = media(incident.id, first) if media and first else None
    return {
        "service_request_id": str(incident.id),
        "status": _status(incident),
        "status_notes": notes,
        "service_name": category.name,
        "service_code": category.code,
        "description": description,
        "agency_responsible": agency,
        "service_notice": f"{category.name}: to be closed within the time limit, by {_w3(incident.due_at, tz)}.",
        "requested_datetime": _w3(incident.reported_at, tz),
        "updated_datetime": _w3(incident.closed_at if incident.status in CLOSED and incident.closed_at else incident.updated_at, tz),
        "expected_datetime": _w3(incident.due_at, tz),
        "address": address,
        "address_id": address_id,
        "zipcode": None,
        "lat": y,
        "long": x,
        "media_url": media_url,
    }


def _seen(stmt: Select[*tuple[Any, ...]], who: Principal | None) -> Select[*tuple[Any, ...]]:
    """What a client may list: the public categories, or what the api_key's role sees."""
    if who is None:
        return stmt.join(Category, Category.code == Incident.category_code).where(Category.public.is_(True))
    grid = aliased(Area)
    return visible(stmt.join(grid, grid.id == Incident.grid_id), who, grid)


def _codes(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def requests(session: Session, args: dict[str, Any], tz: str, who: Principal | None,
             media: MediaUrl | None = None) -> list[dict[str, Any]]:
    """GET requests with the spec's filters, newest first, paged (page, page_size); `who`: the api_key's user."""
    stmt = _seen(select(Incident), who)
    ids = _codes(args.get("service_request_id"))
    if ids:  # overrides every other argument
        numbers = []
        for v in ids:
            number = stored_id(v)
            if number is None:
                raise InvalidParameter("service_request_id", Say("service_request_id %(v)r is not a request id.", v=v))
            numbers.append(number)
        stmt = stmt.where(Incident.id.in_(numbers))
    else:
        now = clock.now()
        start, end = args.get("start_date"), args.get("end_date")
        if start and end and end - start > MAX_SPAN:
            raise InvalidParameter("start_date", Say("start_date and end_date may not span more than 90 days."))
        if start and end and end < start:
            raise InvalidParameter("end_date", Say("end_date is before start_date."))
        end = end or (start + MAX_SPAN if start else now)
        start = start or end - MAX_SPAN
        stmt = stmt.where(Incident.reported_at >= start, Incident.reported_at <= end)
        codes = _codes(args.get("service_code"))
        if codes:
            stmt = stmt.where(Incident.category_code.in_(codes))
        statuses = _codes(args.get("status"))
        bad = [s for s in statuses if s not in ("open", "closed")]
        if bad:
            raise InvalidParameter("status", Say("status must be open or closed; got %(bad)s.", bad=', '.join(bad)))
        if statuses == ["open"]:
            stmt = stmt.where(Incident.status.not_in(CLOSED))
        elif statuses == ["closed"]:
            stmt = stmt.where(Incident.status.in_(CLOSED))
    page, size = args.get("page") or 1, args.get("page_size") or MAX_PAGE
    rows = session.scalars(stmt.order_by(Incident.reported_at.desc(), Incident.id.desc()).limit(size).offset((page - 1) * size))
    return [_request(session, r, tz, public=who is None, media=media) for r in rows]


def one_request(session: Session, request_id: str, tz: str, who: Principal | None,
                media: MediaUrl | None = None) -> list[dict[str, Any]]:
    """One request, if the client may read it; one it may not is as not found as one that does not exist."""
    incident = None
    number = stored_id(request_id)
    if number is not None:
        incident = session.scalar(_seen(select(Incident), who).where(Incident.id == number))
    if incident is None:
        raise NotFound(Say("service_request_id %(request_id)r not found.", request_id=request_id))
    return [_request(session, incident, tz, public=who is None, media=media)]


def token(session: Session, value: str) -> list[dict[str, Any]]:
    found = session.scalar(select(Incident.id).where(Incident.token == value))
    if found is None:
        raise NotFound(Say("token %(value)r not found.", value=value))
    return [{"service_request_id": str(found), "token": value}]


def new_report(session: Session, form: dict[str, Any], principal: Principal | None) -> NewReport:
    """POST requests: an Open311 report is an incident like any other (channel open311), checked the spec's way."""
    if principal is None:
        raise Unauthorized(Say("api_key is missing or invalid: send a gridops user token as api_key."))
    code = (form.get("service_code") or "").strip()
    if not code:
        raise InvalidParameter("service_code", Say("service_code was not provided."))
    if session.get(Category, code) is None:
        raise NotFound(Say("service_code %(code)r not found.", code=code))
    lat, lon = form.get("lat"), form.get("long")
    if (lat is None) != (lon is None):
        raise InvalidParameter("lat", Say("lat and long must both be sent."))
    if lat is None and not (form.get("address_string") or form.get("address_id")):
        raise InvalidParameter("lat", Say("a location is required: lat and long, address_string, or address_id."))
    name = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p) or None
    description = form.get("description")
    if form.get("media_url"):
        description = (description or "") + f"\n[media] {form['media_url']}"
    return NewReport(
        category=code, channel="open311", description=description,
        x=lon, y=lat, crs="wgs84", building=form.get("address_id") if lat is None else None,
        address=form.get("address_string") if lat is None and not form.get("address_id") else None,
        reporter_name=name, reporter_contact=form.get("phone") or form.get("email"), token=uuid.uuid4().hex,
    )


def receipt(answer: dict[str, Any], form: dict[str, Any], tz: str) -> list[dict[str, Any]]:
    """The spec's answer to a POST, from the report's answer (so a retried POST gets the same one)."""
    due = _w3(parse_time(answer["due_at"], None, "due_at"), tz)
    notice = f"{answer['category']['name']}: assigned to {answer['grid']['name']}; to be closed by {due}."
    if answer["merged_into"]:
        notice = f"Already reported: merged into request {answer['merged_into']}."
    return [{"service_request_id": str(answer["id"]), "service_notice": notice, "account_id": form.get("account_id")}]
