"""Schemas of reports, the loop, tasks, and the live map's lists."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, fields, validate

from gridops.web.api.schemas.common import AreaRef, AwareDateTime, BBox, Query, VersionMeta, latitude, longitude, stored_id
from gridops.web.api.schemas.locate import CRS_NAMES, Location

DEVICE_TIME = ("when the step was done on the phone (it may be sent much later, from an offline outbox): kept beside the "
               "server's time; more than 5 minutes in the server's future is refused (/problems/device-clock-ahead)")


class IncidentCreate(Schema):
    category = fields.String(required=True, metadata={"description": "a category code (GET /open311/v2/services lists them)"})
    channel = fields.String(load_default="app", validate=validate.OneOf(["app", "qr", "photo", "hotline", "patrol", "open311"]))
    description = fields.String(validate=validate.Length(max=4000))
    lon = fields.Float(allow_nan=False, metadata={"description": "longitude in `crs`"})
    lat = fields.Float(allow_nan=False, metadata={"description": "latitude in `crs`"})
    crs = fields.String(metadata={"description": CRS_NAMES})
    building = fields.String(metadata={"description": "a building code"})
    household = fields.String(metadata={"description": "a household code (the QR label on a door)"})
    address = fields.String(validate=validate.Length(max=256))
    reporter_name = fields.String(validate=validate.Length(max=64))
    reporter_contact = fields.String(validate=validate.Length(max=64))
    photo = fields.List(Upload(), metadata={"description": "photos (multipart only): JPEG, PNG, WebP or HEIC"})
    device_time = AwareDateTime(metadata={"description": DEVICE_TIME})
    accuracy_m = fields.Float(allow_nan=False, validate=validate.Range(0, 100000), metadata={
        "description": "how sure the phone is of lon/lat (GPS accuracy, metres): kept with the report"})
    handled_on_spot = fields.Boolean(load_default=False, metadata={
        "description": "即办件 (channel patrol, a worker only): handled on the spot, closed at once through the loop's steps "
                       "(take, check-in, resolve with the report's photos as evidence, verify, close); a photo is required"})


class IdempotencyHeader(Schema):
    class Meta:
        unknown = EXCLUDE

    idempotency_key = fields.String(
        data_key="Idempotency-Key", metadata={"description": "a retried submission with the same key returns the first answer"}
    )


class CategoryRef(Schema):
    code = fields.String()
    name = fields.String()
    urgency = fields.String()
    time_limit_minutes = fields.Integer()
    working_time = fields.Boolean()
    accept_limit_minutes = fields.Integer(allow_none=True)
    verify_limit_minutes = fields.Integer(allow_none=True)


class Limits(Schema):
    handle_minutes = fields.Integer()
    verify_minutes = fields.Integer(allow_none=True)
    working_time = fields.Boolean()


class WorkerRef(Schema):
    code = fields.String()
    name = fields.String()
    role = fields.String()


class PhotoRef(Schema):
    sha256 = fields.String()
    content_type = fields.String()
    size = fields.Integer()


class PhotoLink(PhotoRef):
    step = fields.String(metadata={"description": "the step it came with: report, resolve, check_in, return, …"})
    url = fields.String(metadata={"description": "the photo as sent (a path on this service; send your token)"})
    thumbnail_url = fields.String(allow_none=True, metadata={
        "description": "a small JPEG for lists; null when none can be made (see thumbnail_unavailable)"})
    thumbnail_unavailable = fields.String(metadata={"description": "why there is no thumbnail (a HEIC photo without a decoder)"})


class Flag(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.Integer()
    incident = fields.Integer()
    incident_status = fields.String()
    kind = fields.String(metadata={"description": "photo_before_report, photo_in_future, photo_far_away or photo_reused"})
    message = fields.String(metadata={"description": "what it means, zh-CN / English"})
    sha256 = fields.String(allow_none=True, metadata={"description": "the photo it is about"})
    photo_url = fields.String()
    at = fields.String(metadata={"description": "when it was flagged (the resolution)"})
    taken_at = fields.String(metadata={"description": "the photo's EXIF time (DateTimeOriginal)"})
    reported_at = fields.String()
    distance_m = fields.Float(metadata={"description": "how far from the incident the photo's EXIF position is"})
    limit_m = fields.Float()
    taken_at_location = fields.Nested(Location)
    incidents = fields.List(fields.Integer(), metadata={
        "description": "photo_reused: the other incidents it resolved (those you may see)"})


class FlagArgs(Query):
    kind = fields.String(metadata={"description": "flag kinds separated by commas"})
    area = fields.String(metadata={"description": "an area code: flags on incidents in its grids"})
    since = AwareDateTime(metadata={"description": "flagged at or after"})
    until = AwareDateTime(metadata={"description": "flagged before"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


class FlagList(Schema):
    flags = fields.List(fields.Nested(Flag))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class Candidate(Schema):
    id = fields.Integer()
    distance_m = fields.Float()
    reported_at = fields.String()


class IncidentCreated(Schema):
    id = fields.Integer()
    status = fields.String()
    token = fields.String(allow_none=True)
    category = fields.Nested(CategoryRef)
    location = fields.Nested(Location)
    original = fields.Dict()
    location_status = fields.String()
    distance_m = fields.Float()
    grid = fields.Nested(AreaRef)
    micro_grid = fields.Nested(AreaRef, allow_none=True)
    boundary_version = fields.Nested(VersionMeta)
    reported_at = fields.String()
    due_at = fields.String()
    accept_due_at = fields.String(allow_none=True, metadata={"description": "to be accepted (受理) by; none: no limit"})
    assignee = fields.Nested(WorkerRef, allow_none=True)
    department = fields.String(allow_none=True)
    tier = fields.String()
    routing_reason = fields.String(allow_none=True)
    merged_into = fields.Integer(allow_none=True)
    duplicates = fields.List(fields.Nested(Candidate))
    photos = fields.List(fields.Nested(PhotoRef))
    handled_on_spot = fields.Boolean(metadata={"description": "即办件: closed at once (status closed)"})


class Reporter(Schema):
    name = fields.String(allow_none=True)
    contact = fields.String(allow_none=True, metadata={"description": "masked (138****5678) unless you must call back"})


class IncidentView(Schema):
    id = fields.Integer()
    status = fields.String()
    category = fields.Nested(CategoryRef)
    description = fields.String(allow_none=True)
    address = fields.String(allow_none=True, metadata={"description": "the address as reported (untrusted text)"})
    channel = fields.String()
    location = fields.Nested(Location)
    original = fields.Dict()
    grid = fields.Nested(AreaRef)
    micro_grid = fields.Nested(AreaRef, allow_none=True)
    boundary_version = fields.Dict()
    assignee = fields.Nested(WorkerRef, allow_none=True)
    department = fields.String(allow_none=True)
    tier = fields.String()
    routing_reason = fields.String(allow_none=True)
    reported_at = fields.String()
    due_at = fields.String(metadata={"description": "to be resolved (处置) by"})
    overdue = fields.Boolean()
    accept_due_at = fields.String(allow_none=True, metadata={"description": "to be accepted (受理) by; none: no limit"})
    verify_due_at = fields.String(allow_none=True, metadata={"description": "once resolved, to be verified (核查) by"})
    overdue_stage = fields.String(allow_none=True, metadata={"description": "accept, handle or verify: whose limit ran out"})
    limits = fields.Nested(Limits, metadata={"description": "the limits it was reported under (the category's later ones do not apply)"})
    supervised_at = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)
    merged_into = fields.Integer(allow_none=True)
    rating = fields.Integer(allow_none=True)
    reporter = fields.Nested(Reporter)
    photos = fields.List(fields.Nested(PhotoLink))
    flags = fields.List(fields.Nested(Flag), metadata={"description": "what its resolution photos say that does not fit it"})
    allowed = fields.List(fields.String(), metadata={"description": "the steps you may take now (POST /incidents/{id}/{step})"})


class Actor(Schema):
    label = fields.String()
    worker = fields.String(allow_none=True)


class HistoryEvent(Schema):
    seq = fields.Integer()
    at = fields.String(metadata={"description": "when the server stored it"})
    device_at = fields.String(allow_none=True, metadata={
        "description": "when the phone says it was done (a step kept offline and sent later), when it sent `device_time`"})
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    actor = fields.Nested(Actor)
    note = fields.String(allow_none=True)
    location = fields.Nested(Location, allow_none=True)
    photos = fields.List(fields.Nested(PhotoRef))
    data = fields.Dict(allow_none=True)


class History(Schema):
    id = fields.Integer()
    events = fields.List(fields.Nested(HistoryEvent))


class StepBody(Schema):
    note = fields.String(validate=validate.Length(max=4000), metadata={"description": "why, or what was done"})
    lon = longitude("where the worker is (WGS-84); a check-in needs it")
    lat = latitude()
    rating = fields.Integer(validate=validate.Range(1, 5), metadata={"description": "rate, follow_up: 1–5 stars (回访)"})
    reached = fields.Boolean(metadata={"description": "follow_up: the resident answered the call (false: call again later)"})
    worker = fields.String(metadata={"description": "dispatch / reassign: the worker's code"})
    target = stored_id("merge: the incident to merge into")
    override = fields.Boolean(load_default=False, metadata={
        "description": "verify / close: an admin checks their own resolution, with a note saying why (recorded)"})
    photo = fields.List(Upload(), metadata={"description": "photos (multipart only)"})
    device_time = AwareDateTime(metadata={"description": DEVICE_TIME})


class StepDone(Schema):
    id = fields.Integer()
    status = fields.String()
    assignee = fields.Nested(WorkerRef, allow_none=True)
    tier = fields.String()
    routing_reason = fields.String(allow_none=True)
    due_at = fields.String()
    supervised_at = fields.String(allow_none=True)
    allowed = fields.List(fields.String(), metadata={"description": "the steps you may take next"})


class TaskArgs(Query):
    lon = longitude("where the worker is (WGS-84): tasks are ordered by due time, then distance")
    lat = latitude()
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "all"]))


class TaskIncident(Schema):
    category = fields.String()
    category_name = fields.String()
    urgency = fields.String()
    description = fields.String(allow_none=True)
    contact = fields.String(allow_none=True, metadata={"description": "the reporter's contact, masked (138****5678) unless "
                                                                      "you must call back"})
    call = fields.String(allow_none=True, metadata={"description": "the number to dial (a `tel:` link), only where "
                                                                   "`contact` is shown whole and is a number"})


class TaskPatrol(Schema):
    register = fields.Integer(allow_none=True)
    kind = fields.String(allow_none=True)
    kind_name = fields.String(allow_none=True)
    person = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "to call ahead (masked for roles that do not visit)"})
    call = fields.String(allow_none=True, metadata={"description": "`phone` as a `tel:` link dials it, if it is a number"})
    household = fields.String(allow_none=True)


class DatumPoint(Schema):
    lon = fields.Float()
    lat = fields.Float()


class NavigateLinks(Schema):
    amap = fields.String(metadata={"description": "高德: a walking route to the task (GCJ-02), opening the app if installed"})
    baidu = fields.String(metadata={"description": "百度: the route from the position sent, or the place (BD-09)"})
    tencent = fields.String(metadata={"description": "腾讯: a walking route to the task (GCJ-02)"})


class TaskNavigate(Schema):
    gcj02 = fields.Nested(DatumPoint, metadata={"description": "the task's point as AMap and Tencent draw it"})
    bd09 = fields.Nested(DatumPoint, metadata={"description": "the task's point as Baidu draws it"})
    links = fields.Nested(NavigateLinks)


class HereBuilding(Schema):
    code = fields.String()
    name = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    compound = fields.String(allow_none=True)
    distance_m = fields.Float()


class TaskRow(Schema):
    id = fields.Integer(metadata={"description": "the task's id; a `verify` row's is minus its incident's (no task row stands behind it)"})
    kind = fields.String(metadata={"description": "incident (handed to you), patrol (a visit), verify (a resolution on your ground "
                                                  "waiting for your 核查, or a verified one for the close)"})
    title = fields.String()
    status = fields.String()
    incident_id = fields.Integer(allow_none=True)
    incident_status = fields.String(allow_none=True)
    area_code = fields.String(allow_none=True)
    location = fields.Nested(Location, allow_none=True)
    distance_m = fields.Float(allow_none=True)
    due_at = fields.String(allow_none=True)
    overdue = fields.Boolean()
    scheduled_for = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    navigate = fields.Nested(TaskNavigate, allow_none=True, metadata={"description": "the point in the map apps' datums, "
                                                                                    "and a link to each app"})
    incident = fields.Nested(TaskIncident, allow_none=True)
    patrol = fields.Nested(TaskPatrol, allow_none=True)
    order = fields.Integer(allow_none=True, metadata={"description": "the patrol order (派发巡查) this task came from"})
    checklist = fields.List(fields.String(), metadata={"description": "what a patrol ordered from a hot spot looks at"})
    allowed = fields.List(fields.String())


class TaskList(Schema):
    worker = fields.Nested(WorkerRef)
    tasks = fields.List(fields.Nested(TaskRow))
    here = fields.Nested(HereBuilding, allow_none=True, metadata={"description": "the registered building nearest the "
                                                                                "position sent (within 150 m), if any"})


# --- lists for the maps -------------------------------------------------------------


class IncidentListArgs(Query):
    status = fields.String(load_default="open", metadata={"description": "open (default), all, or statuses separated by commas"})
    category = fields.String(metadata={"description": "a category code or a group (hazard, dispute, …)"})
    area = fields.String(metadata={"description": "an area code: incidents in its grids"})
    since = AwareDateTime(metadata={"description": "reported at or after"})
    until = AwareDateTime(metadata={"description": "reported before"})
    bbox = BBox(metadata={"description": "minlon,minlat,maxlon,maxlat"})
    overdue = fields.Boolean(load_default=False, metadata={"description": "only open incidents past their due time"})
    limit = fields.Integer(load_default=1000, validate=validate.Range(1, 50_000))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


class PointGeometry(Schema):
    type = fields.String()
    coordinates = fields.List(fields.Float())


class AssigneeRef(Schema):
    code = fields.String()
    name = fields.String()


class IncidentFeatureProperties(Schema):
    id = fields.Integer()
    status = fields.String()
    category = fields.String()
    category_name = fields.String()
    urgency = fields.String()
    description = fields.String(metadata={"description": "the first 300 characters; untrusted text"})
    reported_at = fields.String()
    due_at = fields.String()
    overdue = fields.Boolean()
    supervised = fields.Boolean()
    grid = fields.String()
    grid_name = fields.String(allow_none=True)
    micro_grid = fields.String(allow_none=True)
    address = fields.String(allow_none=True, metadata={"description": "the address as reported (untrusted text)"})
    tier = fields.String()
    department = fields.String(allow_none=True)
    assignee = fields.Nested(AssigneeRef, allow_none=True)
    photos = fields.List(fields.Nested(PhotoLink))
    flags = fields.Integer(metadata={"description": "how many flags its resolution photos raised (GET /api/v1/flags lists them)"})


class IncidentFeature(Schema):
    type = fields.String()
    id = fields.Integer()
    geometry = fields.Nested(PointGeometry)
    properties = fields.Nested(IncidentFeatureProperties)


class IncidentCollection(Schema):
    type = fields.String()
    features = fields.List(fields.Nested(IncidentFeature))
    total = fields.Integer(metadata={"description": "how many match, over all pages"})
    limit = fields.Integer()
    offset = fields.Integer()


class WorkerFeatureProperties(Schema):
    code = fields.String()
    name = fields.String()
    role = fields.String()
    areas = fields.List(fields.String())
    on_shift = fields.Boolean()
    open_work = fields.Integer()
    last_seen_at = fields.String(allow_none=True)


class WorkerFeature(Schema):
    type = fields.String()
    id = fields.String()
    geometry = fields.Nested(PointGeometry)
    properties = fields.Nested(WorkerFeatureProperties)


class WorkerCollection(Schema):
    type = fields.String()
    features = fields.List(fields.Nested(WorkerFeature))
