from __future__ import annotations

from typing import Any

from flask import Response, current_app, request

from gridops.field.tasks import tasks_of
from gridops.field.workers import worker_positions
from gridops.incidents.context import Context
from gridops.incidents.idempotency import check_key, fingerprint
from gridops.incidents.intake.submission import NewReport, Submission
from gridops.incidents.intake.writer import IntakeQueue
from gridops.incidents.listing import incidents_geojson
from gridops.incidents.photos import check_photos, discard
from gridops.incidents.steps import Act, act
from gridops.incidents.views import history, load, view
from gridops.web.api.parsing import JSON_OR_FORM, Blueprint, uploaded_files
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.incidents import (
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
    new = NewReport(
        category=body["category"], channel=body["channel"], description=body.get("description"),
        x=body.get("lon"), y=body.get("lat"), crs=body.get("crs"), building=body.get("building"),
        household=body.get("household"), address=body.get("address"),
        reporter_name=body.get("reporter_name") or (who.name if who.role == "resident" else None),
        reporter_contact=body.get("reporter_contact"), photos=photos,
    )
    sub = Submission(new, who, check_key(headers.get("idempotency_key"), who.user_id),
                     fingerprint("POST", request.path, who.user_id, request.get_data(cache=True)), "POST", request.path,
                     token_hash())
    out = intake_queue().submit(sub)
    return out.result(), out.status


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
        return incidents_geojson(session, who, args, limit=limit, offset=offset)


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
        return view(session, incident, grid, who)


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


_STEP_DOC = {"requestBody": {"content": {"multipart/form-data": {"schema": "StepBody"}}}}


@bp.post("/incidents/<int:incident_id>/<any(accept, assess, dispatch, take, reassign, reject, check_in, resolve, verify, "
         "return, close, rate, not_fixed, escalate, supervise, merge, split, comment):action>")
@bp.arguments(StepBody(), location=JSON_OR_FORM)
@bp.doc(**_STEP_DOC)
@bp.response(200, StepDone)
@problem_response(bp, 400, "a field is missing or malformed (a note where one is needed, a rating outside 1–5, …)")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role may not take this step on this incident; `allowed` lists what you may")
@problem_response(bp, 404, "no such incident that you may see")
@problem_response(bp, 409, "the incident is not in a state for this step (`allowed` lists what is), or it changed meanwhile")
@problem_response(bp, 413, "a photo is too large")
@problem_response(bp, 415, "neither JSON nor a form")
@problem_response(bp, 422, "check-in refused: too far from the incident or outside its grid (`distance_m`)")
def step(body: dict[str, Any], incident_id: int, action: str) -> dict[str, Any]:
    """Take one step of the closed loop. Steps: accept, assess, dispatch, take (a worker takes the task),
    reassign, reject (with a reason: back to routing), check_in (near the incident, inside its grid),
    resolve (note and photos), verify and close (not by the one who resolved it), return (for rework),
    rate (1–5; 1 or 2 reopens it), not_fixed (the resident, within days of the close: reopened), escalate (one tier up),
    supervise (督办), merge, split, comment."""
    who = caller()
    cfg = current_app.config
    files = uploaded_files(body.pop("photo", None))
    photos = check_photos(files, max_count=cfg["MAX_PHOTOS"], max_bytes=cfg["MAX_PHOTO_BYTES"])
    a = Act(note=body.get("note"), lon=body.get("lon"), lat=body.get("lat"), rating=body.get("rating"),
            worker=body.get("worker"), target=body.get("target"), photos=photos, override=body["override"])
    ctx = context()
    try:
        with database().session() as session:
            return act(session, ctx, incident_id, action, a, who)
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
