"""Request and response schemas: they validate what comes in, shape what goes out,
and are what /api/v1/openapi.json is generated from — one source of truth."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, validate


class AwareDateTime(fields.String):
    """ISO 8601; a time without a zone is read in the city's time zone. Always UTC inside."""

    def __init__(self, **kwargs) -> None:
        metadata = {"format": "date-time", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("must be an ISO-8601 time like 2026-11-23T09:30:00+08:00.")
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"must be an ISO-8601 time like 2026-11-23T09:30:00+08:00; got {value!r}.") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
        return parsed.astimezone(UTC)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.isoformat()


_NUMBER = r"-?\d+(\.\d+)?"


class BBox(fields.String):
    """minlon,minlat,maxlon,maxlat in WGS-84."""

    def __init__(self, **kwargs) -> None:
        metadata = {"pattern": f"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[float, float, float, float]:
        try:
            minx, miny, maxx, maxy = (float(p) for p in str(value).split(","))
        except ValueError:
            raise ValidationError(f"must be four numbers minlon,minlat,maxlon,maxlat; got {value!r}.") from None
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise ValidationError(
                f"must be minlon,minlat,maxlon,maxlat with min ≤ max, lon in [-180, 180], lat in [-90, 90]; got {value!r}."
            )
        return minx, miny, maxx, maxy


class Query(Schema):
    """Query strings ignore parameters they do not know (cache busters, tracking)."""

    class Meta:
        unknown = EXCLUDE


class Problem(Schema):
    """RFC 9457 problem details; extension members name the field and give what is allowed."""

    class Meta:
        unknown = INCLUDE  # problem types add members: errors, allowed, distance_m, candidates, report…

    type = fields.String(metadata={"example": "/problems/invalid-parameter"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    field = fields.String()


class VersionMeta(Schema):
    layer = fields.String()
    number = fields.Integer()
    effective_from = fields.String()


class AreaRef(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()


class Geometry(Schema):
    type = fields.String(required=True)
    coordinates = fields.Raw(required=True)


class Link(Schema):
    rel = fields.String()
    type = fields.String()
    href = fields.String()


# --- health -------------------------------------------------------------------


class DatabaseHealth(Schema):
    url = fields.String()
    server_version = fields.String()
    round_trip_ms = fields.Float()


class SchemaHealth(Schema):
    revision = fields.String(allow_none=True)
    head = fields.String()
    current = fields.Boolean()


class Health(Schema):
    status = fields.String()
    backend = fields.String(metadata={"description": "spatialite or postgis"})
    spatial_library = fields.String()
    spatial_version = fields.String()
    database = fields.Nested(DatabaseHealth)
    schema = fields.Nested(SchemaHealth)


# --- areas --------------------------------------------------------------------


class AreaQueryArgs(Query):
    layer = fields.String(metadata={"description": "layer code (default: the primary layer)"})
    level = fields.String(metadata={"description": "district, street, community, grid, micro_grid, …"})
    within = fields.String(metadata={"description": "an ancestor's code: its descendants only"})
    at = AwareDateTime(metadata={"description": "the boundary version in force at this time (default now)"})
    bbox = BBox(metadata={"description": "minlon,minlat,maxlon,maxlat"})
    limit = fields.Integer(validate=validate.Range(1, 10_000))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


class AreaAtArgs(Query):
    layer = fields.String()
    at = AwareDateTime()


class AreaProperties(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent_code = fields.String(allow_none=True)
    households = fields.Integer()
    population = fields.Integer(allow_none=True)
    area_m2 = fields.Float()
    layer = fields.String()
    boundaryVersion = fields.Nested(VersionMeta, allow_none=True)


class AreaFeature(Schema):
    type = fields.Constant("Feature")
    id = fields.String()
    bbox = fields.List(fields.Float())
    geometry = fields.Nested(Geometry)
    properties = fields.Nested(AreaProperties)


class AreaCollection(Schema):
    type = fields.Constant("FeatureCollection")
    features = fields.List(fields.Nested(AreaFeature))
    numberMatched = fields.Integer()
    numberReturned = fields.Integer()
    bbox = fields.List(fields.Float(), allow_none=True)
    boundaryVersion = fields.Nested(VersionMeta, allow_none=True)
    links = fields.List(fields.Nested(Link))


# --- locate -------------------------------------------------------------------

_CRS = "wgs84 (default), cgcs2000, gcj02 (AMap, Tencent, WeChat) or bd09 (Baidu)"


class LocateArgs(Query):
    lon = fields.Float(allow_nan=False, metadata={"description": "longitude in `crs`"})
    lat = fields.Float(allow_nan=False, metadata={"description": "latitude in `crs`"})
    crs = fields.String(metadata={"description": _CRS})
    building = fields.String(metadata={"description": "a building code"})
    household = fields.String(metadata={"description": "a household code (the QR label on a door)"})
    address = fields.String(metadata={"description": "address text; ambiguous text returns the candidates"})
    at = AwareDateTime(metadata={"description": "locate as of this time (default now)"})


class BatchArgs(Query):
    crs = fields.String(metadata={"description": f"CRS of rows without their own: {_CRS}"})
    at = AwareDateTime()
    format = fields.String(validate=validate.OneOf(["csv", "geojson"]), metadata={"description": "answer format (default: the request's)"})


class Location(Schema):
    lon = fields.Float()
    lat = fields.Float()
    crs = fields.String()


class LayerAnswer(Schema):
    status = fields.String(validate=validate.OneOf(["inside", "on_boundary", "snapped", "outside"]))
    distance_m = fields.Float()
    boundary_version = fields.Nested(VersionMeta)
    areas = fields.Dict(keys=fields.String(), values=fields.Nested(AreaRef))


class BuildingRef(Schema):
    code = fields.String()
    name = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    households = fields.Integer()


class HouseholdRef(Schema):
    code = fields.String()
    unit = fields.String(allow_none=True)
    floor = fields.Integer(allow_none=True)
    room = fields.String(allow_none=True)


class LocateAnswer(Schema):
    status = fields.String()
    distance_m = fields.Float()
    location = fields.Nested(Location)
    original = fields.Dict(metadata={"description": "the location exactly as sent: x, y, crs; or building, household, address"})
    at = fields.String(allow_none=True)
    grid = fields.Nested(AreaRef, allow_none=True)
    micro_grid = fields.Nested(AreaRef, allow_none=True)
    boundary_version = fields.Nested(VersionMeta)
    layers = fields.Dict(keys=fields.String(), values=fields.Nested(LayerAnswer))
    building = fields.Nested(BuildingRef)
    household = fields.Nested(HouseholdRef)


# --- boundaries ---------------------------------------------------------------


class BoundaryForm(Schema):
    layer = fields.String(metadata={"description": "layer code (default: the primary layer)"})
    effective = AwareDateTime(metadata={"description": "when the version takes effect (default now)"})
    accept_warnings = fields.Boolean(load_default=False, metadata={"description": "publish despite household warnings"})
    crs = fields.String(metadata={"description": "override the file's CRS: an EPSG code, or gcj02 / bd09"})
    tolerance_m2 = fields.Float(load_default=1.0, validate=validate.Range(0, 1e6))
    created_by = fields.String()


class Finding(Schema):
    severity = fields.String()
    kind = fields.String()
    message = fields.String()
    codes = fields.List(fields.String())
    location = fields.List(fields.Float(), metadata={"description": "lon, lat of a point to look at"})
    area_m2 = fields.Float()
    repairable = fields.Boolean()


class Report(Schema):
    layer = fields.String()
    source = fields.String()
    areas = fields.Dict(keys=fields.String(), values=fields.Integer())
    carried_over = fields.Dict(keys=fields.String(), values=fields.Integer())
    errors = fields.List(fields.Nested(Finding))
    warnings = fields.List(fields.Nested(Finding))
    ok = fields.Boolean()


class Published(Schema):
    layer = fields.String()
    number = fields.Integer()
    effective_from = fields.String()
    report = fields.Nested(Report)


class VersionRow(Schema):
    layer = fields.String()
    number = fields.Integer()
    status = fields.String()
    effective_from = fields.String()
    published_at = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class VersionList(Schema):
    versions = fields.List(fields.Nested(VersionRow))


class ExportArgs(Query):
    layer = fields.String()
    format = fields.String(load_default="geojson", validate=validate.OneOf(["geojson", "gpkg", "shp"]))
    at = AwareDateTime()


class MisfitArgs(Query):
    a = fields.String(required=True, metadata={"description": "the layer whose areas are split"})
    b = fields.String(required=True, metadata={"description": "the layer whose boundaries split them"})
    level_a = fields.String()
    level_b = fields.String()
    at = AwareDateTime()


class MisfitPart(Schema):
    code = fields.String()
    area_share = fields.Float()
    household_share = fields.Float()


class MisfitRow(Schema):
    code = fields.String()
    level = fields.String()
    area_m2 = fields.Float()
    households = fields.Integer()
    split_into = fields.Integer()
    largest_share = fields.Float()
    uncovered_share = fields.Float()
    other_level = fields.String()
    parts = fields.List(fields.Nested(MisfitPart))


class Misfit(Schema):
    a = fields.String()
    b = fields.String()
    areas = fields.List(fields.Nested(MisfitRow))


def problem_response(bp, status: int, description: str):
    """Document an error answer as it is sent: RFC 9457 problem details."""
    return bp.alt_response(status, schema=Problem, description=description, content_type="application/problem+json")


# --- incidents ----------------------------------------------------------------


class IncidentCreate(Schema):
    category = fields.String(required=True, metadata={"description": "a category code (GET /open311/v2/services lists them)"})
    channel = fields.String(load_default="app", validate=validate.OneOf(["app", "qr", "photo", "hotline", "patrol", "open311"]))
    description = fields.String(validate=validate.Length(max=4000))
    lon = fields.Float(allow_nan=False, metadata={"description": "longitude in `crs`"})
    lat = fields.Float(allow_nan=False, metadata={"description": "latitude in `crs`"})
    crs = fields.String(metadata={"description": _CRS})
    building = fields.String(metadata={"description": "a building code"})
    household = fields.String(metadata={"description": "a household code (the QR label on a door)"})
    address = fields.String(validate=validate.Length(max=256))
    reporter_name = fields.String(validate=validate.Length(max=64))
    reporter_contact = fields.String(validate=validate.Length(max=64))
    photo = fields.List(Upload(), metadata={"description": "photos (multipart only): JPEG, PNG, WebP or HEIC"})


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


class WorkerRef(Schema):
    code = fields.String()
    name = fields.String()
    role = fields.String()


class PhotoRef(Schema):
    sha256 = fields.String()
    content_type = fields.String()
    size = fields.Integer()


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
    assignee = fields.Nested(WorkerRef, allow_none=True)
    department = fields.String(allow_none=True)
    tier = fields.String()
    routing_reason = fields.String(allow_none=True)
    merged_into = fields.Integer(allow_none=True)
    duplicates = fields.List(fields.Nested(Candidate))
    photos = fields.List(fields.Nested(PhotoRef))


class Reporter(Schema):
    name = fields.String(allow_none=True)
    contact = fields.String(allow_none=True, metadata={"description": "masked (138****5678) unless you must call back"})


class IncidentView(Schema):
    id = fields.Integer()
    status = fields.String()
    category = fields.Nested(CategoryRef)
    description = fields.String(allow_none=True)
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
    due_at = fields.String()
    overdue = fields.Boolean()
    supervised_at = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)
    merged_into = fields.Integer(allow_none=True)
    rating = fields.Integer(allow_none=True)
    reporter = fields.Nested(Reporter)


class Actor(Schema):
    label = fields.String()
    worker = fields.String(allow_none=True)


class HistoryEvent(Schema):
    seq = fields.Integer()
    at = fields.String()
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
    lon = fields.Float(allow_nan=False, metadata={"description": "where the worker is (WGS-84); a check-in needs it"})
    lat = fields.Float(allow_nan=False)
    rating = fields.Integer(validate=validate.Range(1, 5), metadata={"description": "rate: 1–5 stars (回访)"})
    worker = fields.String(metadata={"description": "dispatch / reassign: the worker's code"})
    target = fields.Integer(metadata={"description": "merge: the incident to merge into"})
    photo = fields.List(Upload(), metadata={"description": "photos (multipart only)"})


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
    lon = fields.Float(allow_nan=False, metadata={"description": "where the worker is: tasks are ordered by due time, then distance"})
    lat = fields.Float(allow_nan=False)
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "all"]))


class TaskIncident(Schema):
    category = fields.String()
    category_name = fields.String()
    urgency = fields.String()
    description = fields.String(allow_none=True)


class TaskPatrol(Schema):
    register = fields.Integer(allow_none=True)
    kind = fields.String(allow_none=True)
    kind_name = fields.String(allow_none=True)
    person = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "to call ahead (masked for roles that do not visit)"})
    household = fields.String(allow_none=True)


class TaskRow(Schema):
    id = fields.Integer()
    kind = fields.String()
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
    incident = fields.Nested(TaskIncident, allow_none=True)
    patrol = fields.Nested(TaskPatrol, allow_none=True)
    allowed = fields.List(fields.String())


class TaskList(Schema):
    worker = fields.Nested(WorkerRef)
    tasks = fields.List(fields.Nested(TaskRow))


# --- patrol visits (走访) --------------------------------------------------------

PATROL_KINDS = ["elderly_alone", "left_behind_child", "disabled", "special_care"]


class PatrolArgs(Query):
    area = fields.String(metadata={"description": "only the registers in this area (a grid or community code)"})


class PatrolCreate(Schema):
    household = fields.String(metadata={"description": "the household code of the person visited (the QR label on the door)"})
    building = fields.String(metadata={"description": "or the building code, when no household applies"})
    kind = fields.String(required=True, validate=validate.OneOf(PATROL_KINDS))
    interval_days = fields.Integer(validate=validate.Range(1, 366), metadata={"description": "days between visits (default by kind)"})
    person = fields.String(validate=validate.Length(max=64))
    phone = fields.String(validate=validate.Length(max=32))
    id_number = fields.String(validate=validate.Regexp(r"^\d{17}[\dXx]$", error="an ID number is 17 digits and a digit or X."))


class OpenVisit(Schema):
    task = fields.Integer()
    due_at = fields.String(allow_none=True)


class PatrolView(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_name = fields.String()
    person = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "masked for roles that do not visit"})
    id_number = fields.String(allow_none=True, metadata={"description": "masked but for community staff and the command centre"})
    household = fields.String(allow_none=True)
    building = fields.String()
    address = fields.String(allow_none=True)
    grid = fields.String(allow_none=True)
    interval_days = fields.Integer()
    last_visit_at = fields.String(allow_none=True)
    next_visit_from = fields.String()
    open_visit = fields.Nested(OpenVisit, allow_none=True)


class PatrolList(Schema):
    registers = fields.List(fields.Nested(PatrolView))


class VisitBody(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=4000), metadata={"description": "how the visit went"})
    lon = fields.Float(allow_nan=False, metadata={"description": "where the worker is (WGS-84)"})
    lat = fields.Float(allow_nan=False)


class VisitDone(Schema):
    id = fields.Integer()
    status = fields.String()
    completed_at = fields.String()
    distance_m = fields.Float(allow_none=True, metadata={"description": "from the door, when the position was sent"})
    note = fields.String()
    next_visit_from = fields.String(allow_none=True)


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
    offset = fields.Integer(load_default=0, validate=validate.Range(0, None))


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
    micro_grid = fields.String(allow_none=True)
    tier = fields.String()
    department = fields.String(allow_none=True)
    assignee = fields.Nested(AssigneeRef, allow_none=True)


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


# --- the measures ----------------------------------------------------------------------


class StatsArgs(Query):
    level = fields.String(load_default="grid", validate=validate.OneOf(["grid", "community", "street", "district"]))
    area = fields.String(metadata={"description": "only the areas under this code (required for roles that answer for an area)"})
    since = AwareDateTime(metadata={"description": "the period's start (default: this calendar month)"})
    until = AwareDateTime(metadata={"description": "the period's end, exclusive"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "geojson"]))


class StatsRow(Schema):
    class Meta:
        unknown = INCLUDE

    code = fields.String()
    name = fields.String(allow_none=True)
    households = fields.Integer(allow_none=True)
    reported = fields.Integer()
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer())
    closed = fields.Integer()
    closure_rate = fields.Float(allow_none=True)
    due = fields.Integer()
    closed_on_time = fields.Integer()
    on_time_rate = fields.Float(allow_none=True, metadata={"description": "按期结案率"})
    in_grid_rate = fields.Float(allow_none=True, metadata={"description": "格内解决率"})
    median_hours = fields.Float(allow_none=True)
    p90_hours = fields.Float(allow_none=True)
    overdue = fields.Integer()
    resolved = fields.Integer()
    rework = fields.Integer()
    rework_rate = fields.Float(allow_none=True)
    rated = fields.Integer()
    satisfaction = fields.Float(allow_none=True, metadata={"description": "满意率: share of 4–5 star ratings"})


class StatsTotals(Schema):
    reported = fields.Integer()
    closed = fields.Integer()
    closure_rate = fields.Float(allow_none=True)
    due = fields.Integer()
    closed_on_time = fields.Integer()
    on_time_rate = fields.Float(allow_none=True)
    in_grid_rate = fields.Float(allow_none=True)
    median_hours = fields.Float(allow_none=True)
    p90_hours = fields.Float(allow_none=True)
    overdue = fields.Integer()
    resolved = fields.Integer()
    rework = fields.Integer()
    rework_rate = fields.Float(allow_none=True)
    rated = fields.Integer()
    satisfaction = fields.Float(allow_none=True)


class GridRank(Schema):
    rank = fields.Integer()
    code = fields.String()
    name = fields.String(allow_none=True)
    on_time_rate = fields.Float(allow_none=True)
    in_grid_rate = fields.Float(allow_none=True)
    satisfaction = fields.Float(allow_none=True)
    closed = fields.Integer()


class WorkerRank(Schema):
    rank = fields.Integer()
    code = fields.String()
    name = fields.String()
    role = fields.String()
    closed = fields.Integer()
    closed_on_time = fields.Integer()
    on_time_rate = fields.Float(allow_none=True)
    satisfaction = fields.Float(allow_none=True)


class Ranking(Schema):
    grids = fields.List(fields.Nested(GridRank))
    workers = fields.List(fields.Nested(WorkerRank))


class Stats(Schema):
    level = fields.String()
    area = fields.String(allow_none=True)
    since = fields.String()
    until = fields.String()
    rows = fields.List(fields.Nested(StatsRow))
    totals = fields.Nested(StatsTotals)
    ranking = fields.Nested(Ranking)
    definitions = fields.Dict(keys=fields.String(), values=fields.String())


# --- planning -------------------------------------------------------------------


class PlanArgs(Schema):
    community = fields.String(metadata={"description": "only the drafts of this community"})


class PlanCreate(Schema):
    community = fields.String(required=True, validate=validate.Length(min=1, max=32), metadata={"description": "the community's code"})
    method = fields.String(load_default="generate", validate=validate.OneOf(["generate", "rebalance", "copy"]), metadata={
        "description": "generate: new boundaries from the buildings; rebalance: the grids in force with as few households "
                       "moved as bring every grid within bounds; copy: the grids in force, to edit by hand"})
    grid_households_min = fields.Integer(validate=validate.Range(1, 100000), metadata={"description": "default: the grid level's bound (300)"})
    grid_households_max = fields.Integer(validate=validate.Range(1, 100000), metadata={"description": "default: the grid level's bound (500)"})
    micro_households_min = fields.Integer(validate=validate.Range(1, 100000), metadata={"description": "default 50"})
    micro_households_max = fields.Integer(validate=validate.Range(1, 100000), metadata={"description": "default 80"})


class PlanEdit(Schema):
    op = fields.String(required=True, validate=validate.OneOf(["move", "split", "merge", "redraw"]), metadata={
        "description": "move: `buildings` to grid `to`; split: `grid` into `parts` (default: as its households need); "
                       "merge: `grids` into the first; redraw: the buildings inside `polygon` go to `grid`"})
    buildings = fields.List(fields.String(validate=validate.Length(max=32)), validate=validate.Length(max=5000))
    to = fields.String(validate=validate.Length(max=32))
    grid = fields.String(validate=validate.Length(max=32))
    grids = fields.List(fields.String(validate=validate.Length(max=32)), validate=validate.Length(max=50))
    parts = fields.Integer(validate=validate.Range(2, 20))
    polygon = fields.Dict(metadata={"description": "a GeoJSON Polygon in lon/lat"})
    revision = fields.Integer(metadata={"description": "the revision the edit was made against; refused (409) if the draft moved on"})


class PlanPublish(Schema):
    effective_from = fields.AwareDateTime(metadata={"description": "when the new boundaries take effect (ISO time with offset; default now)"})
    accept_warnings = fields.Boolean(load_default=False, metadata={
        "description": "publish although the checks found something (a grid out of bounds, in pieces, ragged)"})


class PlanGrid(Schema):
    code = fields.String()
    households = fields.Integer()
    buildings = fields.Integer()
    micro_grids = fields.Integer()
    polsby_popper = fields.Float()
    contiguous = fields.Boolean()
    within_bounds = fields.Boolean()
    status = fields.String(metadata={"description": "unchanged, changed or new, against the version in force"})
    street_share = fields.Float(metadata={"description": "share of its boundary with other grids that runs along streets"})


class PlanSummary(Schema):
    id = fields.Integer()
    community = fields.String(metadata={"description": "the community's code"})
    status = fields.String(metadata={"description": "draft, published or discarded"})
    method = fields.String()
    revision = fields.Integer()
    settings = fields.Dict()
    metrics = fields.Dict()
    created_by = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()
    published_version = fields.Integer(allow_none=True)


class PlanView(PlanSummary):
    community_name = fields.String()
    checks = fields.List(fields.Dict(), metadata={"description": "households, contiguity, compactness, gaps, overlaps, nesting"})
    impact = fields.Dict(metadata={"description": "households, workers, open incidents and patrol visits that would change grid"})
    grids = fields.List(fields.Nested(PlanGrid))
    published = fields.Dict(metadata={"description": "after publishing: the version made and what was moved"})


class PlanList(Schema):
    drafts = fields.List(fields.Nested(PlanSummary))


class PlanGeoArgs(Schema):
    which = fields.String(load_default="draft", validate=validate.OneOf(["draft", "published", "buildings"]), metadata={
        "description": "draft: its grids and micro-grids; published: the grids in force there; buildings: entrances with their grid"})
