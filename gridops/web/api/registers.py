"""The reference registers over HTTP: people and assignments, the holiday calendar, categories, the audit trail.

Each view parses, calls one function of gridops.registers, answers; who may call it is its line in
gridops.access.policy.ROUTES, and the functions themselves scope a community admin to their ground.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import segno
from flask import Response, current_app, request
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from gridops.core import clock
from gridops.core.errors import InvalidParameter
from gridops.core.timeparse import parse_date
from gridops.core.words import Say
from gridops.incidents.doors import door_url
from gridops.registers import (
    building_files,
    buildings,
    calendars,
    categories,
    households,
    labels,
    people,
    people_files,
    rosters,
    shift_passes,
    taxonomy,
)
from gridops.registers.audit import ChangeQuery
from gridops.registers.files import text_of
from gridops.registers.trail import visible_changes
from gridops.web.api import sheets
from gridops.web.api.parsing import FORM_AND_FILES, Blueprint
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.registers import (
    AnsweredArgs,
    AnsweredList,
    AssignmentCreate,
    AssignmentEnd,
    AssignmentView,
    AuditArgs,
    BuildingChange,
    BuildingCreate,
    BuildingView,
    CalendarDayBody,
    CalendarDayView,
    CalendarImported,
    CalendarYear,
    CategoryChange,
    CategoryCreate,
    CategoryList,
    CategoryView,
    ChangeList,
    DaysArgs,
    DepartmentChange,
    DepartmentList,
    DepartmentView,
    GroupBody,
    GroupList,
    GroupView,
    LeaveBody,
    LeaveView,
    NoteBody,
    PeopleArgs,
    PeopleList,
    PersonChange,
    PersonCreate,
    PersonView,
    RosterDayBody,
    RosterDays,
    RosterDayView,
    ShiftPassRevoked,
    ShiftPassView,
    SwapBody,
    TaxonomyImported,
    Week,
    YearArgs,
)
from gridops.web.context import use_case_context
from gridops.web.request import caller, database

bp = Blueprint("registers", __name__, description="Reference data kept live (人员, 排班, 节假日, 事件分类) and its audit trail")


# --- people and assignments -----------------------------------------------------------------------


@bp.get("/people")
@bp.arguments(PeopleArgs(), location="query", as_kwargs=True)
@bp.response(200, PeopleList)
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role reads no people register")
def list_people(**args: Any) -> dict[str, Any]:
    """The workers and staff you may see, with the assignments in force: all for the command centre and
    planners, those answering for your ground for community admins and grid leaders."""
    q = people.WorkerQuery(area=args.get("area"), text=args.get("q"), active=args.get("active"), at=args.get("at"))
    with database().session() as session:
        return {"people": people.list_workers(session, caller(), q)}


@bp.post("/people")
@bp.arguments(PersonCreate(), location="json")
@bp.response(201, PersonView)
@problem_response(bp, 400, "a field is missing or malformed")
@problem_response(bp, 403, "your role keeps no people, or not of this role")
@problem_response(bp, 409, "the code (工号) is taken")
def create_person(body: dict[str, Any]) -> dict[str, Any]:
    """Add a worker or staff member; `POST /people/{code}/assignments` then gives them their ground."""
    with database().session() as session:
        return people.add_worker(session, use_case_context(), caller(), **body)


@bp.get("/people/<code>")
@bp.response(200, PersonView)
@problem_response(bp, 404, "no such worker on your ground")
def get_person(code: str) -> dict[str, Any]:
    """One worker with every assignment they ever held (the history of who answered where)."""
    with database().session() as session:
        return people.get_worker(session, caller(), code)


@bp.patch("/people/<code>")
@bp.arguments(PersonChange(), location="json")
@bp.response(200, PersonView)
@problem_response(bp, 400, "a field is malformed")
@problem_response(bp, 403, "the worker is not yours to change")
@problem_response(bp, 404, "no such worker")
def change_person(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Change a worker's name, phone, role or department."""
    note = body.pop("note", None)
    with database().session() as session:
        return people.update_worker(session, use_case_context(), caller(), code, note=note, **body)


@bp.post("/people/<code>/deactivate")
@bp.arguments(NoteBody(), location="json")
@bp.response(200, PersonView)
@problem_response(bp, 403, "the worker is not yours to change")
@problem_response(bp, 404, "no such worker")
@problem_response(bp, 409, "the worker is already inactive")
def deactivate_person(body: dict[str, Any], code: str) -> dict[str, Any]:
    """A worker leaves: their assignments end, their sign-ins stop, their open incidents go to the grid's
    backup or leader (a `reassign` event each, listed in `moved`) and their patrol visits to whoever answers now."""
    with database().session() as session:
        return people.deactivate_worker(session, use_case_context(), caller(), code, note=body.get("note"))


@bp.post("/people/<code>/shift-pass")
@bp.response(201, ShiftPassView)
@problem_response(bp, 403, "the worker is not yours to keep")
@problem_response(bp, 404, "no such worker, or the worker has no sign-in")
def make_shift_pass(code: str) -> dict[str, Any]:
    """A QR code that signs the worker's phone in for their shift (扫码登录): opened once, within 10 minutes; the
    session lasts until the shift on their rota ends (else 12 hours) or the pass is revoked."""
    with database().session() as session:
        made = shift_passes.make(session, use_case_context(), caller(), code)
    base = current_app.config["PUBLIC_URL"] or request.url_root
    url = base.rstrip("/") + "/login/shift/" + made.pop("secret")
    qr = segno.make(url, error="m").svg_data_uri(scale=6, border=2)
    return {"url": url, "qr_svg": qr, **made}


@bp.post("/people/<code>/shift-pass/revoke")
@bp.response(200, ShiftPassRevoked)
@problem_response(bp, 403, "the worker is not yours to keep")
@problem_response(bp, 404, "no such worker, or the worker has no sign-in")
def revoke_shift_passes(code: str) -> dict[str, Any]:
    """End the worker's QR sign-ins: the phones they signed in are signed out at their next request."""
    with database().session() as session:
        return shift_passes.revoke(session, use_case_context(), caller(), code)


@bp.post("/people/<code>/assignments")
@bp.arguments(AssignmentCreate(), location="json")
@bp.response(201, AssignmentView)
@problem_response(bp, 400, "no such area, an unknown duty, or an end before the start")
@problem_response(bp, 403, "the area is not your ground")
@problem_response(bp, 409, "the worker already holds that duty there then, or is inactive")
def create_assignment(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Make a worker answer for an area from a date: routing sends them the area's reports from then on."""
    with database().session() as session:
        return people.assign(session, use_case_context(), caller(), code, area=body["area"], duty=body["duty"],
                             valid_from=body.get("valid_from"), valid_to=body.get("valid_to"), note=body.get("note"))


@bp.get("/people/<code>/shifts")
@bp.response(200, Week)
@problem_response(bp, 404, "no such worker on your ground")
def get_shifts(code: str) -> dict[str, Any]:
    """A worker's weekly rota (排班), as routing reads it."""
    with database().session() as session:
        return {"shifts": rosters.week(session, caller(), code)}


@bp.put("/people/<code>/shifts")
@bp.arguments(Week(), location="json")
@bp.response(200, Week)
@problem_response(bp, 400, "a window is malformed, or two overlap")
@problem_response(bp, 403, "the worker is not yours to change")
def set_shifts(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Replace a worker's weekly rota; the next report routes by it, in every process."""
    with database().session() as session:
        return {"shifts": rosters.set_week(session, caller(), code, body["shifts"], note=body.get("note"))}


@bp.get("/people/<code>/days")
@bp.arguments(DaysArgs(), location="query", as_kwargs=True)
@bp.response(200, RosterDays)
@problem_response(bp, 404, "no such worker on your ground")
def get_days(code: str, **args: Any) -> dict[str, Any]:
    """The days a worker's rota differs from their week (a day's own windows, leave, swaps), today and the month after."""
    since = args.get("since") or _today()
    until = args.get("until") or since + timedelta(days=31)
    with database().session() as session:
        return {"days": rosters.days_of(session, caller(), code, since, until)}


@bp.put("/people/<code>/days/<day>")
@bp.arguments(RosterDayBody(), location="json")
@bp.response(200, RosterDayView)
@problem_response(bp, 400, "not a day, a window is malformed, or two overlap")
@problem_response(bp, 403, "the worker is not yours to change")
def set_day(body: dict[str, Any], code: str, day: str) -> dict[str, Any]:
    """Give a worker a day of their own windows instead of their week's ([] for a day off); routing reads it at once."""
    with database().session() as session:
        return rosters.set_day(session, caller(), code, _day(day), body["shifts"], reason=body["reason"], note=body.get("note"))


@bp.delete("/people/<code>/days/<day>")
@bp.response(204)
@problem_response(bp, 404, "no change to that day's rota")
def clear_day(code: str, day: str) -> None:
    """The day follows the worker's week again."""
    with database().session() as session:
        rosters.clear_day(session, caller(), code, _day(day), note=request.args.get("note"))


@bp.post("/people/<code>/leave")
@bp.arguments(LeaveBody(), location="json")
@bp.response(200, LeaveView)
@problem_response(bp, 400, "the leave ends before it starts, or is longer than a year")
@problem_response(bp, 403, "the worker is not yours to change")
def take_leave(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Leave (请假) from `first` to `last`: no window those days, so the grid's reports go to its backup or leader."""
    with database().session() as session:
        return rosters.leave(session, caller(), code, body["first"], body["last"], note=body.get("note"))


@bp.post("/rosters/swap")
@bp.arguments(SwapBody(), location="json")
@bp.response(200, RosterDays)
@problem_response(bp, 400, "the same worker twice, or nothing to swap")
@problem_response(bp, 403, "a worker is not yours to change")
def swap_day(body: dict[str, Any]) -> dict[str, Any]:
    """Two workers swap a day (换班): each works the other's windows of it."""
    with database().session() as session:
        return {"days": rosters.swap(session, use_case_context(), caller(), body["day"], body["a"], body["b"],
                                     note=body.get("note"))}


@bp.get("/departments")
@bp.response(200, DepartmentList)
def list_departments() -> dict[str, Any]:
    """The departments with their office hours (their own, or the city's)."""
    with database().session() as session:
        found = rosters.departments(session)
    return {"departments": found, "city_office_hours": current_app.config["OFFICE_HOURS"]}


@bp.patch("/departments/<code>")
@bp.arguments(DepartmentChange(), location="json")
@bp.response(200, DepartmentView)
@problem_response(bp, 400, "office hours that are not ordered windows of one day")
@problem_response(bp, 404, "no such department")
def change_department(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Set a department's own office hours (null: the city's): its working-time limits and its staff with no rota
    follow them from the next report."""
    with database().session() as session:
        return rosters.set_office_hours(session, caller(), code, body["office_hours"], note=body.get("note"))


def _today() -> date:
    return clock.today(current_app.config["TIMEZONE"])


@bp.post("/assignments/<int:assignment_id>/end")
@bp.arguments(AssignmentEnd(), location="json")
@bp.response(200, AssignmentView)
@problem_response(bp, 404, "no such assignment on your ground")
@problem_response(bp, 409, "it has already ended")
def end_assignment(body: dict[str, Any], assignment_id: int) -> dict[str, Any]:
    """End an assignment (default: now), e.g. a grid handed to another worker from Monday."""
    with database().session() as session:
        return people.end_assignment(session, use_case_context(), caller(), assignment_id, valid_to=body.get("valid_to"),
                                     note=body.get("note"))


@bp.get("/assignments")
@bp.arguments(AnsweredArgs(), location="query", as_kwargs=True)
@bp.response(200, AnsweredList)
def answered(**args: Any) -> dict[str, Any]:
    """Who answered for an area at a moment: each duty and its worker."""
    at = args.get("at") or clock.now()
    with database().session() as session:
        found = people.answered_for(session, args["area"], at, use_case_context().geocoder.primary_layer, who=caller())
    return {"area": args["area"], "at": at.isoformat(), "answered": found}


sheets.file_routes(
    bp, "/people", "people", importer=people_files.import_workers, exporter=people_files.export_workers,
    columns=people_files.WORKERS.columns, what="the workers",
    upload="code, name, phone, role, department, active (工号, 姓名, 电话, 角色, 部门, 在岗 also read)",
    forbidden="a worker or a role of the file is not yours to keep",
    imports_doc="""Import workers: every row checked first, then each new code added and each known one changed where the
    file differs (`active` no: they leave and their work is handed on), through the same functions as one change by
    hand, in one transaction; or nothing, the bad rows named.""",
    exports_doc="The people you may see, as the import reads them.")
sheets.file_routes(
    bp, "/assignments", "assignments", importer=people_files.import_assignments, exporter=people_files.export_assignments,
    columns=people_files.ASSIGNMENTS.columns, what="the assignments",
    upload="area, worker, duty, valid_from, valid_to (a day, or a time; without a zone in the city's; 区域, 工号, 职责, "
           "开始日期, 结束日期 also read)",
    forbidden="an area of the file is not your ground",
    imports_doc="""Import assignments: a new row makes a worker answer for an area from its day; a known one (same worker,
    area, duty, start) is ended where the file ends it earlier; all in one transaction, or nothing, the bad rows named.""",
    exports_doc="The assignments not yet ended on your ground, days and times in the city's zone.")


# --- the holiday calendar ------------------------------------------------------------------------


@bp.get("/calendar")
@bp.arguments(YearArgs(), location="query", as_kwargs=True)
@bp.response(200, CalendarYear)
def calendar_year(**args: Any) -> dict[str, Any]:
    """A year's public holidays and make-up workdays (调休), and the years near now that have no calendar."""
    year = args.get("year") or clock.now().year
    with database().session() as session:
        found = calendars.days(session, caller(), year)
        found["missing_years"] = calendars.missing_years(session)
    return found


class CalendarUpload(Schema):
    file = Upload(metadata={"description": "a CSV file, UTF-8: date,kind[,name] per row (kind: holiday/休 or workday/班)"})
    note = fields.String()


@bp.post("/calendar/import")
@bp.arguments(CalendarUpload(), location=FORM_AND_FILES)
@bp.response(200, CalendarImported)
@problem_response(bp, 400, "the file is not UTF-8 text, or holds no days")
@problem_response(bp, 422, "rows cannot be stored (`rows` names each); nothing was imported")
def calendar_import(form: dict[str, Any]) -> dict[str, Any]:
    """Import holidays and make-up days: each year the file names is replaced by the file's days, all or nothing.
    Send the file as multipart field `file`, or the CSV itself as a text/csv body."""
    data, _ = sheets.uploaded(form, {"text/csv": "upload.csv"}, "the calendar")
    text = text_of(data)
    with database().session() as session:
        done = calendars.import_days(session, caller(), text, note=form.get("note") or request.args.get("note"))
    return {"years": done.years, "days": done.days, "replaced": done.replaced, "merged_years": done.merged_years}


@bp.get("/calendar/export")
@bp.arguments(YearArgs(), location="query", as_kwargs=True)
@bp.response(200, content_type="text/csv", description="date,kind,name, as the import reads it")
def calendar_export(**args: Any) -> Response:
    with database().session() as session:
        text = calendars.export_days(session, args.get("year"))
    name = f"calendar-{args['year']}.csv" if args.get("year") else "calendar.csv"
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"})


def _day(raw: str) -> date:
    return parse_date(raw, "day")


@bp.put("/calendar/<day>")
@bp.arguments(CalendarDayBody(), location="json")
@bp.response(200, CalendarDayView)
@problem_response(bp, 400, "not a day, or an unknown kind")
def calendar_set(body: dict[str, Any], day: str) -> dict[str, Any]:
    """Make a day a holiday or a make-up workday."""
    with database().session() as session:
        return calendars.set_day(session, caller(), _day(day), body["kind"], body.get("name"), note=body.get("note"))


@bp.delete("/calendar/<day>")
@bp.response(204)
@problem_response(bp, 404, "the day is not in the calendar")
def calendar_clear(day: str) -> None:
    """A day goes back to what its weekday makes it."""
    with database().session() as session:
        calendars.clear_day(session, caller(), _day(day), note=request.args.get("note"))


# --- categories ----------------------------------------------------------------------------------


@bp.get("/categories")
@bp.response(200, CategoryList)
def list_categories() -> dict[str, Any]:
    """Every category with its limits, handler and flags, and how many of its incidents are open."""
    with database().session() as session:
        return {"categories": categories.list_categories(session)}


@bp.post("/categories")
@bp.arguments(CategoryCreate(), location="json")
@bp.response(201, CategoryView)
@problem_response(bp, 409, "the code exists")
def create_category(body: dict[str, Any]) -> dict[str, Any]:
    note = body.pop("note", None)
    with database().session() as session:
        return categories.create_category(session, caller(), note=note, **body)


@bp.patch("/categories/<code>")
@bp.arguments(CategoryChange(), location="json")
@bp.response(200, CategoryView)
@problem_response(bp, 404, "no such category")
def change_category(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Change a category; a new time limit applies to reports made from now (earlier ones keep their deadline)."""
    note = body.pop("note", None)
    with database().session() as session:
        return categories.update_category(session, caller(), code, note=note, **body)


TaxonomyUpload = sheets.upload_schema("TaxonomyUpload", "group_code, group_name, code, name, urgency, accept_hours, "
                                      "handle_hours, verify_hours, working_time, handler, department_code … (大类代码, 大类名称, "
                                      "小类代码, 小类名称, 紧急程度, 受理时限, 处置时限, 核查时限 … also read)")


@bp.post("/categories/import")
@bp.arguments(TaxonomyUpload(), location=FORM_AND_FILES)
@bp.response(200, TaxonomyImported)
@problem_response(bp, 400, "not a CSV or workbook, or it names neither categories nor classes")
@problem_response(bp, 422, "rows cannot be stored (`rows` names each); nothing was imported")
def categories_import(form: dict[str, Any]) -> dict[str, Any]:
    """Import an event taxonomy (大类/小类, GB/T 30428-style): classes and categories added or changed, each row
    checked as a change of one category is, all in one transaction and one audit event, or nothing."""
    data, name = sheets.uploaded(form, sheets.SHEETS, "the categories")
    with database().session() as session:
        done = taxonomy.import_taxonomy(session, caller(), data, name=name, note=form.get("note"))
    return vars(done)


@bp.get("/categories/export")
@sheets.exports(bp, "the classes and categories")
def categories_export(**args: Any) -> Response:
    return sheets.exported(lambda session, _ctx, _who: taxonomy.export_taxonomy(session), taxonomy.COLUMNS, "categories",
                           args["format"])


@bp.get("/category-groups")
@bp.response(200, GroupList)
def list_groups() -> dict[str, Any]:
    """The classes (大类) the categories belong to, in the order the pages list them."""
    with database().session() as session:
        return {"groups": categories.list_groups(session)}


@bp.put("/category-groups/<code>")
@bp.arguments(GroupBody(), location="json")
@bp.response(200, GroupView)
def set_group(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Add a class, or rename it or move it in the order."""
    note = body.pop("note", None)
    with database().session() as session:
        found = categories.set_group(session, caller(), code, note=note, **body)
        return next(g for g in categories.list_groups(session) if g["code"] == found["code"])


@bp.delete("/category-groups/<code>")
@bp.response(204)
@problem_response(bp, 404, "no such class")
@problem_response(bp, 409, "categories still belong to it")
def remove_group(code: str) -> None:
    """A class no category belongs to any more goes."""
    with database().session() as session:
        categories.remove_group(session, caller(), code, note=request.args.get("note"))


# --- buildings and households ---------------------------------------------------------------


@bp.get("/buildings/<code>")
@bp.response(200, BuildingView)
@problem_response(bp, 404, "no such building")
def get_building(code: str) -> dict[str, Any]:
    """A building: its address, households and the grid it stands in."""
    with database().session() as session:
        return buildings.get_building(session, use_case_context(), code)


@bp.post("/buildings")
@bp.arguments(BuildingCreate(), location="json")
@bp.response(201, BuildingView)
@problem_response(bp, 403, "the place is not your ground")
@problem_response(bp, 409, "the code is taken")
def create_building(body: dict[str, Any]) -> dict[str, Any]:
    """Add a building at its entrance; its households count for its grid at once."""
    if body.get("lon") is None or body.get("lat") is None:
        raise InvalidParameter("lon", Say("a building needs its entrance: lon and lat."))
    _outline(body)
    with database().session() as session:
        return buildings.add_building(session, use_case_context(), caller(), **body)


def _outline(body: dict[str, Any]) -> None:
    """A footprint as the API takes it (WKT, or GeoJSON as text or as an object) made a shape, as a file's is."""
    raw = body.get("footprint")
    if raw is not None:
        body["footprint"] = building_files.footprint(json.dumps(raw) if isinstance(raw, dict) else raw)


@bp.patch("/buildings/<code>")
@bp.arguments(BuildingChange(), location="json")
@bp.response(200, BuildingView)
@problem_response(bp, 403, "the building is not on your ground")
@problem_response(bp, 409, "the building was demolished")
def change_building(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Change a building (e.g. its household count: the grid's total follows; its outline when it was redrawn)."""
    note = body.pop("note", None)
    _outline(body)
    with database().session() as session:
        return buildings.update_building(session, use_case_context(), caller(), code, note=note, **body)


@bp.post("/buildings/<code>/demolish")
@bp.arguments(NoteBody(), location="json")
@bp.response(200, BuildingView)
@problem_response(bp, 403, "the building is not on your ground")
@problem_response(bp, 409, "already demolished")
def demolish_building(body: dict[str, Any], code: str) -> dict[str, Any]:
    """The building is gone: its households leave the grid's count, its visit registers end."""
    with database().session() as session:
        return buildings.demolish_building(session, use_case_context(), caller(), code, note=body.get("note"))


class LabelArgs(Schema):
    format = fields.String(load_default="pdf", validate=validate.OneOf(labels.FORMATS),
                           metadata={"description": "pdf: A4 sheets, 12 labels a sheet; png: one label (with `door`)"})
    door = fields.String(metadata={"description": "only this door's label (a household's code, or the building's own "
                                                  "for its entrance): to reprint one"})
    entrance = fields.Boolean(load_default=True, metadata={"description": "a label for the building's entrance too"})


_LABELS_DOC = {"responses": {"200": {"description": "the labels to print", "content": {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    "image/png": {"schema": {"type": "string", "format": "binary"}}}}}}


@bp.get("/buildings/<code>/labels")
@bp.arguments(LabelArgs(), location="query", as_kwargs=True)
@bp.doc(**_LABELS_DOC)
@problem_response(bp, 400, "an unknown format, or a PNG asked for without `door`")
@problem_response(bp, 403, "the building is not on your ground")
@problem_response(bp, 404, "no such building, or no such door in it")
@problem_response(bp, 409, "the building was demolished")
def building_labels(code: str, **args: Any) -> Response:
    """QR door labels of a building to print: each encodes the resident's report page of its door
    (`/r/<door code>` at GRIDOPS_PUBLIC_URL, else at the address this request came in on)."""
    base = current_app.config["PUBLIC_URL"] or request.url_root
    with database().session() as session:
        sheet = labels.building_labels(session, use_case_context(), caller(), code, lambda c: door_url(base, c),
                                       door=args.get("door"), entrance=args["entrance"])
    data = labels.render(sheet, args["format"])
    name = f"labels-{sheet.labels[0].code if args.get('door') else sheet.building}.{args['format']}"
    mimetype = "application/pdf" if args["format"] == "pdf" else "image/png"
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f"inline; filename={quote(name)}",
                                                      "Cache-Control": "private, no-store"})


sheets.file_routes(
    bp, "/buildings", "buildings", importer=building_files.import_buildings, exporter=building_files.export_buildings,
    columns=building_files.SHEET.columns, what="the buildings",
    upload="code, name, address, compound, use, floors, households, lon, lat, footprint (WKT or GeoJSON; 楼栋编码, 名称, "
           "地址, 小区, 用途, 层数, 户数, 经度, 纬度 also read)",
    forbidden="a building of the file is not on your ground",
    imports_doc="""Import buildings: every row checked first, then each new code added at its entrance and each known one
    changed where the file differs (the grids' household totals follow), in one transaction; or nothing, the bad rows
    named.""",
    exports_doc="The buildings standing on your ground, footprints as WKT.")
sheets.file_routes(
    bp, "/households", "households", importer=households.import_households, exporter=households.export_households,
    columns=households.COLUMNS, what="the households",
    upload="code, building, unit, floor, room, persons (门牌码, 楼栋, 单元, 楼层, 房号, 人数 also read)",
    forbidden="a building of the file is not on your ground",
    imports_doc="""Import households (door codes) from a workbook or CSV: every row checked first, then all stored in one
    transaction (new codes added, known ones updated), or nothing. Multipart field `file`, or the file as the body.""",
    exports_doc="The households of your ground.")


# --- the audit trail -----------------------------------------------------------------------------


@bp.get("/audit")
@bp.arguments(AuditArgs(), location="query", as_kwargs=True)
@bp.response(200, ChangeList)
def audit(**args: Any) -> dict[str, Any]:
    """Changes to reference data, newest first: of one object (kind and key), one kind, or one person's."""
    q = ChangeQuery(kind=args.get("kind"), key=args.get("key"), actor_user_id=args.get("actor"), limit=args["limit"])
    with database().session() as session:
        return {"changes": visible_changes(session, use_case_context(), caller(), q)}
