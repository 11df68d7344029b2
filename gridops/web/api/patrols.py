"""Patrol visits (走访): who needs visiting, and the worker recording a visit."""

from __future__ import annotations

from typing import Any

from flask import current_app

from gridops.field.patrols import record_visit
from gridops.registers import visit_files, visits
from gridops.web.api import sheets
from gridops.web.api.idempotent import once_of
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.incidents import IdempotencyHeader
from gridops.web.api.schemas.patrols import (
    PatrolArgs,
    PatrolChange,
    PatrolCreate,
    PatrolList,
    PatrolMove,
    PatrolNote,
    PatrolPause,
    PatrolView,
    VisitBody,
    VisitDone,
)
from gridops.web.context import use_case_context
from gridops.web.request import caller, database

bp = Blueprint("patrols", __name__, description="Patrol visits (走访): registers of people who need visits, and visits recorded")


@bp.get("/patrols")
@bp.arguments(PatrolArgs(), location="query", as_kwargs=True)
@bp.response(200, PatrolList)
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role keeps no registers")
def list_registers(**args: Any) -> dict[str, Any]:
    """The people who need visits on the ground you answer for, with their next visit; ID numbers masked
    unless you are community staff or the command centre."""
    who = caller()
    with database().session() as session:
        return {"registers": visits.list_entries(session, use_case_context(current_app), who, args.get("area"))}


@bp.post("/patrols")
@bp.arguments(PatrolCreate(), location="json")
@bp.response(201, PatrolView)
@problem_response(bp, 400, "a field is missing or malformed")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role may not keep registers, or the door is not on your ground")
@problem_response(bp, 404, "no such household or building")
def create_register(body: dict[str, Any]) -> dict[str, Any]:
    """Register someone who needs regular visits; the next sweep schedules their first visit."""
    who = caller()
    with database().session() as session:
        return visits.add_entry(session, use_case_context(current_app), who, **body)


sheets.file_routes(
    bp, "/patrols", "registers", importer=visit_files.import_entries, exporter=visit_files.export_entries,
    columns=visit_files.SHEET.columns, what="the register entries",
    upload="id (an entry's, to change it), household, building, kind, person, phone, id_number, interval_days, "
           "paused_until, active (登记编号, 门牌码, 楼栋, 类别, 姓名, 电话, 身份证号, 走访间隔, 暂停至, 在册 also read; "
           "kind as 独居老人, 残疾人, 低保户 …)",
    forbidden="your role keeps no registers",
    imports_doc="""Import register entries: every row checked first, then each new person registered (their first visit
    due from today) and each known entry changed, moved, paused or ended where the file differs, its visits
    rescheduled; all in one transaction, or nothing, the bad rows named.""",
    exports_doc="The register entries of your ground (ID numbers masked unless your role reads them).")


@bp.patch("/patrols/<int:entry_id>")
@bp.arguments(PatrolChange(), location="json")
@bp.response(200, PatrolView)
@problem_response(bp, 404, "no such entry on your ground")
@problem_response(bp, 409, "the entry has ended")
def change_register(body: dict[str, Any], entry_id: int) -> dict[str, Any]:
    """Change an entry's interval or contact; a new interval reschedules its open visit at once."""
    note = body.pop("note", None)
    with database().session() as session:
        return visits.change_entry(session, use_case_context(current_app), caller(), entry_id, note=note, **body)


@bp.post("/patrols/<int:entry_id>/move")
@bp.arguments(PatrolMove(), location="json")
@bp.response(200, PatrolView)
@problem_response(bp, 403, "the new door is not on your ground")
@problem_response(bp, 404, "no such entry, household or building")
@problem_response(bp, 409, "the entry has ended, or is at that door already")
def move_register(body: dict[str, Any], entry_id: int) -> dict[str, Any]:
    """The person moves to another door (she moves in with her son): visits go to the new door's grid worker."""
    with database().session() as session:
        return visits.move_entry(session, use_case_context(current_app), caller(), entry_id, household=body.get("household"),
                                 building=body.get("building"), note=body.get("note"))


@bp.post("/patrols/<int:entry_id>/pause")
@bp.arguments(PatrolPause(), location="json")
@bp.response(200, PatrolView)
@problem_response(bp, 400, "the day is past")
@problem_response(bp, 404, "no such entry on your ground")
def pause_register(body: dict[str, Any], entry_id: int) -> dict[str, Any]:
    """No visits through `until` (in hospital, away with family); the first after it is due within the first days."""
    with database().session() as session:
        return visits.pause_entry(session, use_case_context(current_app), caller(), entry_id, body["until"], note=body.get("note"))


@bp.post("/patrols/<int:entry_id>/resume")
@bp.arguments(PatrolNote(), location="json")
@bp.response(200, PatrolView)
@problem_response(bp, 404, "no such entry on your ground")
@problem_response(bp, 409, "the entry is not paused")
def resume_register(body: dict[str, Any], entry_id: int) -> dict[str, Any]:
    """Visits again from today."""
    with database().session() as session:
        return visits.resume_entry(session, use_case_context(current_app), caller(), entry_id, note=body.get("note"))


@bp.post("/patrols/<int:entry_id>/end")
@bp.arguments(PatrolNote(), location="json")
@bp.response(200, PatrolView)
@problem_response(bp, 404, "no such entry on your ground")
@problem_response(bp, 409, "the entry has ended already")
def end_register(body: dict[str, Any], entry_id: int) -> dict[str, Any]:
    """The person no longer needs visits: the entry ends and its open visit is cancelled."""
    with database().session() as session:
        return visits.end_entry(session, use_case_context(current_app), caller(), entry_id, note=body.get("note"))


@bp.post("/tasks/<int:task_id>/visit")
@bp.arguments(VisitBody(), location="json")
@bp.arguments(IdempotencyHeader(), location="headers")
@bp.response(200, VisitDone)
@problem_response(bp, 400, "no note, only one of lon and lat, or neither a position nor away_reason")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 404, "no such patrol visit that is yours")
@problem_response(bp, 409, "the visit is already recorded or cancelled, or the Idempotency-Key was used for a different request")
@problem_response(bp, 422, "too far from the door (`distance_m`): record it there, or give away_reason; or `device_time` more "
                           "than 5 minutes ahead of the server")
def visit(body: dict[str, Any], headers: dict[str, Any], task_id: int) -> dict[str, Any]:
    """Record a patrol visit: the task is done and the next visit is counted from now."""
    who = caller()
    with database().session() as session:
        return record_visit(session, use_case_context(current_app), task_id, who, note=body["note"],
                            lon=body.get("lon"), lat=body.get("lat"), away_reason=body.get("away_reason"),
                            device_at=body.get("device_time"), once=once_of(headers, who.user_id, body))
