from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Response, current_app, request, send_file, url_for

from gridops.access.policy import Principal
from gridops.core import clock
from gridops.core.models import IdempotencyRecord
from gridops.field.tasks import tasks_of
from gridops.field.workers import worker_positions
from gridops.incidents import patrol_reports
from gridops.incidents.context import Context
from gridops.incidents.flags import flag_list
from gridops.incidents.idempotency import canonical_fingerprint, check_key
from gridops.incidents.intake.submission import NewReport, Submission
from gridops.incidents.intake.take import take_in
from gridops.incidents.intake.writer import IntakeQueue
from gridops.incidents.listing import incidents_geojson
from gridops.incidents.photos import THUMBNAIL_PX, check_photos, discard, thumbnail
from gridops.incidents.steps import Act, act
from gridops.incidents.views import history, load, photo_file, view
from gridops.web.api.idempotent import once_of
from gridops.web.api.parsing import JSON_OR_FORM, Blueprint, uploaded_files
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.incidents import (
    FlagArgs,
    FlagList,
    History,
    IdempotencyHeader,
    IncidentCollection,
    IncidentCreate,
    IncidentCreated,
    IncidentListArgs,
    IncidentView,
    StepBody,
    StepDone,
    TaskArgs,
    TaskList,
    WorkerCollection,
)
from gridops.web.context import use_case_context
from gridops.web.request import caller, database, token_hash

bp = Blueprint("incidents", __name__, description="Reports in, and the closed loop (上报 → 受理 → … → 回访)")

_GEOJSON_ANSWERS = ("incidents.list_incidents", "incidents.workers")


@bp.after_request
def _geojson(response: Response) -> Response:
    """The lists of incidents and workers are GeoJSON, and say so (RFC 7946's media type), as documented."""
    if request.endpoint in _GEOJSON_ANSWERS and response.status_code == 200 and response.mimetype == "application/json":
        response.mimetype = "application/geo+json"
    return response


_MULTIPART = {"requestBody": {"content": {"multipart/form-data": {"schema": "IncidentCreate"}}}}


def context() -> Context:
    return use_case_context(current_app)


def intake_queue() -> IntakeQueue:
    return current_app.extensions["gridops.intake"]



@bp.post("/incidents")
@bp.arguments(IncidentCreate(), location=JSON_OR_FORM)
@bp.arguments(IdempotencyHeader(), location="headers")
@bp.doc(**_MULTIPART)
@bp.response(201, IncidentCreated)
@problem_response(bp, 400, "a field is missing or malformed (unknown category, no location, bad coordinates); `field` names it")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 404, "an unknown building, household or address")
@problem_response(bp, 409, "the Idempotency-Key was used for a different request")
@problem_response(bp, 413, "the body, or a photo, is too large")
@problem_response(bp, 415, "neither JSON nor a form")
@problem_response(bp, 422, "outside the service area (with `distance_m`), swapped lon/lat, or an ambiguous address")
def create(body: dict[str, Any], headers: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Report an incident: placed, routed, stored with its first event before the answer is sent."""
    who = caller()
    cfg = current_app.config
    files = uploaded_files(body.pop("photo", None))
    photos = check_photos(files, max_count=cfg["MAX_PHOTOS"], max_bytes=cfg["MAX_PHOTO_BYTES"])
    on_spot = body.pop("handled_on_spot")
    device_at = clock.device_time(body.get("device_time"))
    new = NewReport(
        category=body["category"], channel=body["channel"], description=body.get("description"),
        x=body.get("lon"), y=body.get("lat"), crs=body.get("crs"), building=body.get("building"),
        household=body.get("household"), address=body.get("address"),
        reporter_name=body.get("reporter_name") or (who.name if who.role == "resident" else None),
        reporter_contact=body.get("reporter_contact"), photos=photos, device_at=device_at, accuracy_m=body.get("accuracy_m"),
    )
    patrol_reports.check(new, who, on_spot)
    sub = Submission(new, who, check_key(headers.get("idempotency_key"), who.user_id),
                     canonical_fingerprint("POST", request.path, who.user_id, {**body, "handled_on_spot": on_spot},
                                           [p.sha256 for p in photos]),
                     "POST", request.path, token_hash())
    if on_spot:
        return _on_spot(sub, who), 201
    out = intake_queue().submit(sub)
    return out.result(), out.status


def _on_spot(sub: Submission, who: Principal) -> dict[str, Any]:
    """A 即办件: the report and its closing steps in one transaction (not through the writer's batches)."""
    ctx = context()
    try:
        with database().session() as session:
            out = take_in(session, ctx, [sub])[0]
            ctx.written.extend(out.written)
            answer = out.result()
            if out.replayed or answer["merged_into"] is not None:
                return answer  # sent again: done the first time; or a duplicate, handled in the incident it joined
            done = patrol_reports.close_on_spot(session, ctx, answer["id"], who, note=sub.new.description,
                                                photos=sub.new.photos, device_at=sub.new.device_at)
            answer = {**answer, "status": done["status"], "assignee": done["assignee"], "handled_on_spot": True}
            if sub.key is not None:  # a retry replays the whole answer, closed
                kept = session.get(IdempotencyRecord, sub.key)
                if kept is not None:
                    kept.response_body = json.dumps(answer, default=str)
            return answer
    except BaseException:
        discard(ctx.written, current_app.config["INSTANCE_PATH"])
        raise


def linked(incident_id: int, photos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Photos with their addresses on this service: the original and, where one can be made, the thumbnail."""
    out = []
    for p in photos:
        p = dict(p)
        p["url"] = url_for("incidents.photo", incident_id=incident_id, sha256=p["sha256"])
        p["thumbnail_url"] = None if p.get("thumbnail_unavailable") else url_for(
            "incidents.photo_thumbnail", incident_id=incident_id, sha256=p["sha256"])
        out.append(p)
    return out


@bp.get("/incidents")
@bp.arguments(IncidentListArgs(), location="query", as_kwargs=True)
@bp.response(200, IncidentCollection, content_type="application/geo+json")
@problem_response(bp, 400, "a parameter is invalid (an unknown status or category, a bad time or bbox)")
@problem_response(bp, 401, "no valid token")
def list_incidents(**args: Any) -> dict[str, Any]:
    """Incidents you may see, newest first, as GeoJSON: open ones by default (the live map's layer)."""
    who = caller()
    limit, offset = args.pop("limit"), args.pop("offset")
    with database().session() as session:
        found = incidents_geojson(session, who, args, limit=limit, offset=offset)
    for feature in found["features"]:
        feature["properties"]["photos"] = linked(feature["id"], feature["properties"]["photos"])
    return found


@bp.get("/workers")
@bp.response(200, WorkerCollection, content_type="application/geo+json")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role does not see where workers are")
def workers(**args: Any) -> dict[str, Any]:
    """Workers at their last known position, with whether they are on shift and their open work."""
    who = caller()
    with database().session() as session:
        return worker_positions(session, who, current_app.config["TIMEZONE"], current_app.extensions["gridops.references"])


@bp.get("/incidents/<int:incident_id>")
@bp.response(200, IncidentView)
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 404, "no such incident that you may see")
def get_one(incident_id: int) -> dict[str, Any]:
    """One incident, as your role may see it (contacts masked unless you must call back)."""
    who = caller()
    with database().session() as session:
        incident, grid = load(session, incident_id, who)
        found = view(session, incident, grid, who, current_app.config["TIMEZONE"])
    found["photos"] = linked(incident_id, found["photos"])
    return found


@bp.get("/incidents/<int:incident_id>/history")
@bp.response(200, History)
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 404, "no such incident that you may see")
def get_history(incident_id: int) -> dict[str, Any]:
    """Every step, in order: who, when, what, where, with which photos. Append-only."""
    who = caller()
    with database().session() as session:
        incident, _ = load(session, incident_id, who)
        return {"id": incident.id, "events": history(session, incident)}


_IMAGE = {"schema": {"type": "string", "format": "binary"}}
_PHOTO_DOC = {"responses": {
    "200": {"description": "the photo as it was sent (JPEG, PNG, WebP or HEIC), EXIF and all: it is the evidence",
            "content": {t: _IMAGE for t in ("image/jpeg", "image/png", "image/webp", "image/heic")}},
    "304": {"description": "not modified: the ETag (the photo's hash) matched If-None-Match"}}}
_THUMBNAIL_DOC = {"responses": {
    "200": {"description": f"a JPEG whose longest side is {THUMBNAIL_PX} px, upright, without EXIF", "content": {"image/jpeg": _IMAGE}},
    "304": {"description": "not modified: the ETag matched If-None-Match"}}}
# a photo never changes (it is named by its hash), but who may see its incident does: a private cache keeps it
# a short while, then asks again, and the ETag makes asking cheap
_PHOTO_CACHE = "private, max-age=300"


def _image(path: Path, mimetype: str, etag: str, name: str) -> Response:
    response = send_file(path, mimetype=mimetype, etag=etag, conditional=True, download_name=name, max_age=None)
    response.headers["Cache-Control"] = _PHOTO_CACHE
    response.headers.pop("Expires", None)
    return response


@bp.get("/incidents/<int:incident_id>/photos/<string(length=64):sha256>")
@bp.doc(**_PHOTO_DOC)
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 404, "no such photo on an incident that you may see")
def photo(incident_id: int, sha256: str) -> Response:
    """A photo of an incident you may see (the report's, the resolution's …), by its SHA-256 as the incident lists it."""
    who = caller()
    with database().session() as session:
        found = photo_file(session, incident_id, sha256.lower(), who)
    extension = found.path.rsplit(".", 1)[-1]
    return _image(Path(current_app.config["INSTANCE_PATH"]) / found.path, found.content_type, found.sha256,
                  f"{found.sha256}.{extension}")


@bp.get("/incidents/<int:incident_id>/photos/<string(length=64):sha256>/thumbnail")
@bp.doc(**_THUMBNAIL_DOC)
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 404, "no such photo on an incident that you may see, or no thumbnail can be made of it (a HEIC "
                           "photo without a decoder installed; `type` is /problems/no-thumbnail): open the original")
def photo_thumbnail(incident_id: int, sha256: str) -> Response:
    """A small JPEG of a photo for lists, made once and kept; HEIC only when a HEIC decoder is installed."""
    who = caller()
    with database().session() as session:
        found = photo_file(session, incident_id, sha256.lower(), who)
    small = thumbnail(current_app.config["INSTANCE_PATH"], found.path, found.sha256, found.content_type)
    return _image(small, "image/jpeg", f"{found.sha256}-t", f"{found.sha256}-thumbnail.jpg")


@bp.get("/flags")
@bp.arguments(FlagArgs(), location="query", as_kwargs=True)
@bp.response(200, FlagList)
@problem_response(bp, 400, "a parameter is invalid (an unknown kind, a bad time)")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role does not verify resolutions")
def flags(**args: Any) -> dict[str, Any]:
    """Resolutions whose photos do not fit their incident (虚假办结 checks), newest first, on the ground you see:
    a photo taken before the report or later than now, far from the incident, or already used to resolve another."""
    who = caller()
    limit, offset = args.pop("limit"), args.pop("offset")
    with database().session() as session:
        found = flag_list(session, who, args, current_app.config["TIMEZONE"], limit=limit, offset=offset)
    for f in found["flags"]:
        if f.get("sha256"):
            f["photo_url"] = url_for("incidents.photo", incident_id=f["incident"], sha256=f["sha256"])
    return found


_STEP_DOC = {"requestBody": {"content": {"multipart/form-data": {"schema": "StepBody"}}}}


@bp.post("/incidents/<int:incident_id>/<any(accept, assess, dispatch, take, reassign, reject, check_in, resolve, verify, "
         "return, close, rate, follow_up, not_fixed, escalate, supervise, merge, split, comment):action>")
@bp.arguments(StepBody(), location=JSON_OR_FORM)
@bp.arguments(IdempotencyHeader(), location="headers")
@bp.doc(**_STEP_DOC)
@bp.response(200, StepDone)
@problem_response(bp, 400, "a field is missing or malformed (a note where one is needed, a rating outside 1–5, …)")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role may not take this step on this incident; `allowed` lists what you may")
@problem_response(bp, 404, "no such incident that you may see")
@problem_response(bp, 409, "the incident is not in a state for this step (`allowed` lists what is), or it changed meanwhile; "
                           "or the Idempotency-Key was used for a different request")
@problem_response(bp, 413, "a photo is too large")
@problem_response(bp, 415, "neither JSON nor a form")
@problem_response(bp, 422, "check-in refused: too far from the incident or outside its grid (`distance_m`); or `device_time` "
                           "more than 5 minutes ahead of the server (/problems/device-clock-ahead)")
def step(body: dict[str, Any], headers: dict[str, Any], incident_id: int, action: str) -> dict[str, Any]:
    """Take one step of the closed loop. Steps: accept, assess, dispatch, take (a worker takes the task),
    reassign, reject (with a reason: back to routing), check_in (near the incident, inside its grid),
    resolve (note and photos), verify and close (not by the one who resolved it), return (for rework),
    rate (1–5; 1 or 2 reopens it), follow_up (回访: the resident called after the close — `reached` false keeps it
    closed for another call; true with their `rating` and words ends the loop as rate does), not_fixed (the resident,
    within days of the close: reopened), escalate (one tier up),
    supervise (督办), merge, split, comment."""
    who = caller()
    cfg = current_app.config
    files = uploaded_files(body.pop("photo", None))
    photos = check_photos(files, max_count=cfg["MAX_PHOTOS"], max_bytes=cfg["MAX_PHOTO_BYTES"])
    a = Act(note=body.get("note"), lon=body.get("lon"), lat=body.get("lat"), rating=body.get("rating"),
            worker=body.get("worker"), target=body.get("target"), photos=photos, override=body["override"],
            device_at=body.get("device_time"), reached=body.get("reached"))
    ctx = context()
    try:
        with database().session() as session:
            return act(session, ctx, incident_id, action, a, who, once=once_of(headers, who.user_id, body, photos))
    except BaseException:
        discard(ctx.written, cfg["INSTANCE_PATH"])
        raise


@bp.get("/me/tasks")
@bp.arguments(TaskArgs(), location="query", as_kwargs=True)
@bp.response(200, TaskList)
@problem_response(bp, 400, "a parameter is invalid")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "not a worker")
def my_tasks(**args: Any) -> dict[str, Any]:
    """A worker's tasks, by due time and then by distance from the position sent: incidents and patrol visits."""
    who = caller()
    with database().session() as session:
        return tasks_of(session, who, args.get("lon"), args.get("lat"), args["status"] == "all")
