"""Schemas of the reference registers: people and their assignments, the holiday calendar, categories, the audit trail."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gridops.registers.buildings import MAX_HOUSEHOLDS, USES
from gridops.registers.categories import HANDLERS, MAX_LIMIT_MINUTES, URGENCIES
from gridops.registers.people import DUTIES, WORKER_ROLES
from gridops.registers.rosters import REASONS
from gridops.web.api.schemas.common import NOTE as _NOTE
from gridops.web.api.schemas.common import AwareDateTime, Query, latitude, longitude, stored_id

_CODE = validate.Length(min=1, max=32)


class PeopleArgs(Query):
    area = fields.String(metadata={"description": "only those answering for this area or an area within it"})
    q = fields.String(metadata={"description": "a part of the code (工号), name or phone"})
    active = fields.Boolean(load_default=True, metadata={"description": "false: those who left"})
    at = AwareDateTime(metadata={"description": "assignments in force then (default: now)"})


class AssignmentView(Schema):
    id = fields.Integer()
    worker = fields.String()
    layer = fields.String()
    area = fields.String()
    duty = fields.String()
    duty_name = fields.String()
    valid_from = fields.String()
    valid_to = fields.String(allow_none=True)


class Moved(Schema):
    incident = fields.Integer()
    to = fields.String(allow_none=True, metadata={"description": "the worker code it went to (null: nobody answers)"})
    reason = fields.String(allow_none=True)


class PersonView(Schema):
    code = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True)
    role = fields.String()
    role_name = fields.String()
    role_name_en = fields.String()
    department_code = fields.String(allow_none=True)
    active = fields.Boolean()
    open_tasks = fields.Integer()
    assignments = fields.List(fields.Nested(AssignmentView))
    moved = fields.List(fields.Nested(Moved), metadata={"description": "after a deactivation: where each open incident went"})
    ended_assignments = fields.List(fields.Integer())
    visits_moved = fields.Integer()


class PeopleList(Schema):
    people = fields.List(fields.Nested(PersonView))


class PersonCreate(Schema):
    code = fields.String(required=True, validate=_CODE, metadata={"description": "工号, unique"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    role = fields.String(required=True, validate=validate.OneOf(list(WORKER_ROLES)))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    department_code = fields.String(allow_none=True, validate=validate.Length(max=32))
    note = _NOTE


class PersonChange(Schema):
    name = fields.String(validate=validate.Length(min=1, max=64))
    role = fields.String(validate=validate.OneOf(list(WORKER_ROLES)))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    department_code = fields.String(allow_none=True, validate=validate.Length(max=32))
    note = _NOTE


class NoteBody(Schema):
    note = _NOTE


class AssignmentCreate(Schema):
    area = fields.String(required=True, validate=_CODE, metadata={"description": "the area's code (a grid, a community …)"})
    duty = fields.String(required=True, validate=validate.OneOf(list(DUTIES)))
    valid_from = AwareDateTime(metadata={"description": "from when (default: now); a day alone is its midnight in the city"})
    valid_to = AwareDateTime(allow_none=True, metadata={"description": "until when (default: open-ended)"})
    note = _NOTE


class AssignmentEnd(Schema):
    valid_to = AwareDateTime(metadata={"description": "when it ends (default: now)"})
    note = _NOTE


class ShiftWindow(Schema):
    weekday = fields.Integer(required=True, validate=validate.Range(0, 6), metadata={"description": "0 = Monday … 6 = Sunday"})
    weekday_name = fields.String(dump_only=True)
    start = fields.String(required=True, metadata={"example": "08:30"})
    end = fields.String(required=True, metadata={"example": "17:30", "description": "before `start`: runs past midnight"})


class Week(Schema):
    shifts = fields.List(fields.Nested(ShiftWindow), required=True)
    note = _NOTE


class AnsweredArgs(Query):
    area = fields.String(required=True, validate=_CODE)
    at = AwareDateTime(metadata={"description": "the moment asked about (default: now)"})


class Answered(Schema):
    duty = fields.String()
    worker = fields.String()
    name = fields.String()
    valid_from = fields.String()
    valid_to = fields.String(allow_none=True)


class AnsweredList(Schema):
    area = fields.String()
    at = fields.String()
    answered = fields.List(fields.Nested(Answered))


class YearArgs(Query):
    year = fields.Integer(validate=validate.Range(1900, 2999), metadata={"description": "default: this year"})


class CalendarDayView(Schema):
    date = fields.String()
    kind = fields.String()
    kind_name = fields.String()
    name = fields.String(allow_none=True)
    weekday = fields.Integer(metadata={"description": "1 = Monday … 7 = Sunday"})


class CalendarYear(Schema):
    year = fields.Integer()
    has_calendar = fields.Boolean(metadata={"description": "false: deadlines count Monday to Friday until it is imported"})
    days = fields.List(fields.Nested(CalendarDayView))
    missing_years = fields.List(fields.Integer(), metadata={"description": "this year and next, where no calendar is kept"})


class CalendarDayBody(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["holiday", "workday"]))
    name = fields.String(allow_none=True, validate=validate.Length(max=64), metadata={"description": "春节, 国庆节 …"})
    note = _NOTE


class CalendarImported(Schema):
    years = fields.List(fields.Integer())
    days = fields.Integer()
    replaced = fields.Integer(metadata={"description": "days those years held before"})
    merged_years = fields.List(fields.Integer(), metadata={
        "description": "years the file holds only a few days of (a notice spilling over the new year): those days set, the rest kept"})


class CategoryView(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()
    group_code = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    urgency = fields.String()
    accept_limit_minutes = fields.Integer(allow_none=True)
    time_limit_minutes = fields.Integer()
    verify_limit_minutes = fields.Integer(allow_none=True)
    working_time = fields.Boolean()
    handler = fields.String()
    department_code = fields.String(allow_none=True)
    dedupe_radius_m = fields.Float(allow_none=True)
    dedupe_window_hours = fields.Float(allow_none=True)
    keywords = fields.String(allow_none=True)
    active = fields.Boolean()
    public = fields.Boolean()
    sensitive = fields.Boolean()
    separate_verifier = fields.Boolean()
    open_incidents = fields.Integer()


class CategoryList(Schema):
    categories = fields.List(fields.Nested(CategoryView))


class CategoryChange(Schema):
    name = fields.String(validate=validate.Length(min=1, max=128))
    name_en = fields.String(validate=validate.Length(min=1, max=128))
    group_code = fields.String(allow_none=True, validate=validate.Length(max=64))
    description = fields.String(allow_none=True, validate=validate.Length(max=4000))
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    accept_limit_minutes = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, MAX_LIMIT_MINUTES), metadata={
        "description": "accept (受理) within this, from the report; null: no limit of its own; at most the handling limit"})
    time_limit_minutes = fields.Integer(strict=True, validate=validate.Range(1, MAX_LIMIT_MINUTES),
                                        metadata={"description": "handle (处置) within this, from the report to the resolution"})
    verify_limit_minutes = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, MAX_LIMIT_MINUTES), metadata={
        "description": "verify (核查) within this, from the resolution; null: no limit of its own"})
    working_time = fields.Boolean(metadata={"description": "the limits count working hours of working days only"})
    handler = fields.String(validate=validate.OneOf(HANDLERS))
    department_code = fields.String(allow_none=True, validate=validate.Length(max=32))
    dedupe_radius_m = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(0, 100_000, min_inclusive=False))
    dedupe_window_hours = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(0, 100_000, min_inclusive=False))
    keywords = fields.String(allow_none=True, validate=validate.Length(max=256))
    active = fields.Boolean()
    public = fields.Boolean(metadata={"description": "anonymous Open311 clients and the public map list its reports"})
    sensitive = fields.Boolean(metadata={"description": "its free text is never shown publicly"})
    separate_verifier = fields.Boolean(metadata={"description": "the resolver may not verify or close"})
    note = _NOTE


class CategoryCreate(CategoryChange):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))


class GroupView(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    position = fields.Integer()
    categories = fields.Integer(metadata={"description": "how many categories it holds"})


class GroupList(Schema):
    groups = fields.List(fields.Nested(GroupView))


class GroupBody(Schema):
    name = fields.String(validate=validate.Length(min=1, max=128))
    name_en = fields.String(allow_none=True, validate=validate.Length(max=128))
    position = fields.Integer(strict=True, validate=validate.Range(0, 1_000_000),
                              metadata={"description": "where the pages list it (lower first)"})
    note = _NOTE


class TaxonomyImported(Schema):
    rows = fields.Integer()
    created = fields.List(fields.String())
    updated = fields.List(fields.String())
    groups_created = fields.List(fields.String())
    groups_updated = fields.List(fields.String())
    unchanged = fields.Integer(metadata={"description": "categories the file gives as the city has them (nothing written)"})


class AuditArgs(Query):
    kind = fields.String(metadata={"description": "worker, assignment, calendar, category …"})
    key = fields.String(metadata={"description": "the object's code (a 工号, an assignment id, a year, a day, a category)"})
    actor = stored_id("the user who made the changes")
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 2000))


class Change(Schema):
    id = fields.Integer()
    at = fields.String()
    actor = fields.String()
    actor_user_id = fields.Integer(allow_none=True)
    kind = fields.String()
    key = fields.String()
    action = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    note = fields.String(allow_none=True)


class ChangeList(Schema):
    changes = fields.List(fields.Nested(Change))


class BuildingChange(Schema):
    name = fields.String(allow_none=True, validate=validate.Length(max=128))
    address = fields.String(allow_none=True, validate=validate.Length(max=256))
    compound = fields.String(allow_none=True, validate=validate.Length(max=128), metadata={"description": "小区"})
    use = fields.String(validate=validate.OneOf(USES))
    floors = fields.Integer(allow_none=True, strict=True, validate=validate.Range(1, 200))
    households = fields.Integer(strict=True, validate=validate.Range(0, MAX_HOUSEHOLDS),
                                metadata={"description": "户数: the grid's count and those above it follow"})
    footprint = fields.Raw(allow_none=True, metadata={
        "description": "轮廓: the outline in lon/lat (WGS-84), as WKT or a GeoJSON Polygon/MultiPolygon; null removes it. "
                       "It lies within 200 m of the entrance."})
    note = _NOTE


class BuildingCreate(BuildingChange):
    code = fields.String(required=True, validate=_CODE)
    lon = longitude("the entrance (WGS-84)")
    lat = latitude()


class BuildingView(Schema):
    code = fields.String()
    name = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    compound = fields.String(allow_none=True)
    use = fields.String()
    floors = fields.Integer(allow_none=True)
    households = fields.Integer()
    lon = fields.Float()
    lat = fields.Float()
    footprint = fields.String(allow_none=True, metadata={"description": "轮廓 as WKT in lon/lat, to a centimetre"})
    grid = fields.String(allow_none=True)
    demolished_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)
    registers_ended = fields.List(fields.Integer(), metadata={"description": "after a demolition: the visit registers ended"})


class DayWindow(Schema):
    start = fields.String(required=True, metadata={"example": "08:30"})
    end = fields.String(required=True, metadata={"example": "17:30", "description": "before `start`: runs past midnight"})


class RosterDayBody(Schema):
    shifts = fields.List(fields.Nested(DayWindow), required=True, metadata={"description": "the day's windows; [] for a day off"})
    reason = fields.String(load_default="change", validate=validate.OneOf(list(REASONS)))
    note = _NOTE


class RosterDayView(Schema):
    day = fields.String()
    weekday = fields.Integer(metadata={"description": "0 = Monday … 6 = Sunday"})
    weekday_name = fields.String()
    reason = fields.String(metadata={"description": "change, leave (请假) or swap (换班)"})
    reason_name = fields.String()
    swap_with = fields.String(allow_none=True, metadata={"description": "after a swap: the other worker's code"})
    windows = fields.List(fields.Nested(DayWindow), metadata={"description": "[]: off that day"})


class RosterDays(Schema):
    days = fields.List(fields.Nested(RosterDayView))


class DaysArgs(Query):
    since = fields.Date(metadata={"description": "default: today"})
    until = fields.Date(metadata={"description": "default: 31 days after `since`"})


class LeaveBody(Schema):
    first = fields.Date(required=True, metadata={"description": "the first day of leave"})
    last = fields.Date(required=True, metadata={"description": "the last day of leave (the same day for one day)"})
    note = _NOTE


class LeaveView(Schema):
    worker = fields.String()
    first = fields.String()
    last = fields.String()
    days = fields.Integer()
    open_tasks = fields.Integer(metadata={"description": "their open tasks, which stay theirs: reassign those that cannot wait"})


class SwapBody(Schema):
    day = fields.Date(required=True)
    a = fields.String(required=True, validate=_CODE, metadata={"description": "one worker's code (工号)"})
    b = fields.String(required=True, validate=_CODE, data_key="with", metadata={"description": "the other's"})
    note = _NOTE


class DepartmentView(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    office_hours = fields.String(allow_none=True, metadata={"description": "its own office day; null: the city's"})


class DepartmentList(Schema):
    departments = fields.List(fields.Nested(DepartmentView))
    city_office_hours = fields.String()


class DepartmentChange(Schema):
    office_hours = fields.String(required=True, allow_none=True, validate=validate.Length(max=64),
                                 metadata={"example": "09:00-12:00,14:00-18:00", "description": "null: the city's"})
    note = _NOTE


class ShiftPassView(Schema):
    url = fields.String(metadata={"description": "the link the QR code holds: opened once on the worker's phone within "
                                                 "`scan_by`, it signs the phone in until `shift_ends_at`"})
    qr_svg = fields.String(metadata={"description": "the QR code of `url`, as an SVG data: URI for an <img>"})
    worker = fields.String()
    user = fields.String(metadata={"description": "the sign-in the phone gets (the worker's user)"})
    scan_by = fields.String()
    shift_ends_at = fields.String(metadata={"description": "the end of the worker's shift on their rota (else 12 hours)"})


class ShiftPassRevoked(Schema):
    worker = fields.String()
    revoked = fields.Integer(metadata={"description": "passes ended; the phones they signed in are signed out"})
