"""Schemas of the measures per area."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from gridops.web.api.schemas.common import AwareDateTime, Query


class StatsArgs(Query):
    level = fields.String(load_default="grid", validate=validate.OneOf(["grid", "community", "street", "district"]))
    area = fields.String(metadata={"description": "only the areas under this code (required for roles that answer for an area)"})
    since = AwareDateTime(metadata={"description": "the period's start (default: this calendar month)"})
    until = AwareDateTime(metadata={"description": "the period's end, exclusive"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx", "geojson"]),
                           metadata={"description": "csv: this level's rows, headed in the reader's language, UTF-8 with a BOM; "
                                                    "xlsx: a sheet per level at and below the area, and one per team of workers"})


class LiveArgs(Query):
    area = fields.String(metadata={"description": "only the areas under this code (required for roles that answer for an area)"})


_FLAGS = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.OneOf(["green", "amber", "red"])),
                     metadata={"description": "measure -> green, amber or red (the thresholds are in `thresholds`)"})
_CHANGE = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True),
                      metadata={"description": "measure -> its change against the previous period (rates as fractions)"})
_BEFORE = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True),
                      metadata={"description": "measure -> its value in the previous period"})


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
    visits = fields.Integer(metadata={"description": "走访 recorded in the period"})
    visits_away = fields.Integer(metadata={"description": "of those, recorded away from the door with a reason"})
    proactive = fields.Integer(metadata={"description": "主动发现: reported incidents found by the grid's own people (patrol)"})
    proactive_rate = fields.Float(allow_none=True, metadata={"description": "主动发现率: proactive ÷ reported"})
    flags = _FLAGS
    trend = _CHANGE
    previous = _BEFORE


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
    visits = fields.Integer()
    visits_away = fields.Integer()
    proactive = fields.Integer()
    proactive_rate = fields.Float(allow_none=True)
    flags = _FLAGS
    trend = _CHANGE
    previous = _BEFORE


class GridRank(Schema):
    rank = fields.Integer()
    code = fields.String()
    name = fields.String(allow_none=True)
    on_time_rate = fields.Float(allow_none=True)
    in_grid_rate = fields.Float(allow_none=True)
    satisfaction = fields.Float(allow_none=True)
    closed = fields.Integer()
    overdue = fields.Integer()
    reported = fields.Integer()
    proactive_rate = fields.Float(allow_none=True)
    flags = _FLAGS


class WorkerRank(Schema):
    rank = fields.Integer()
    code = fields.String()
    name = fields.String()
    role = fields.String()
    closed = fields.Integer()
    closed_on_time = fields.Integer()
    on_time_rate = fields.Float(allow_none=True)
    satisfaction = fields.Float(allow_none=True)
    team = fields.String(validate=validate.OneOf(["grid", "staff"]),
                         metadata={"description": "grid: grid workers and leaders; staff: department and other staff"})
    flags = _FLAGS
    trend = _CHANGE
    previous = _BEFORE


class Ranking(Schema):
    grids = fields.List(fields.Nested(GridRank))
    workers = fields.List(fields.Nested(WorkerRank))


class Day(Schema):
    day = fields.String()
    reported = fields.Integer()
    closed = fields.Integer()


class Threshold(Schema):
    higher_is_better = fields.Boolean()
    green = fields.Float()
    amber = fields.Float()


class Period(Schema):
    since = fields.String()
    until = fields.String()


class Stats(Schema):
    level = fields.String()
    area = fields.String(allow_none=True)
    since = fields.String()
    until = fields.String()
    rows = fields.List(fields.Nested(StatsRow))
    totals = fields.Nested(StatsTotals)
    ranking = fields.Nested(Ranking)
    definitions = fields.Dict(keys=fields.String(), values=fields.String())
    area_name = fields.String(allow_none=True)
    categories = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()),
                             metadata={"description": "category code -> {name, name_en} of the categories in the rows"})
    daily = fields.List(fields.Nested(Day), metadata={"description": "each local day of the period (none beyond 92 days)"})
    thresholds = fields.Dict(keys=fields.String(), values=fields.Nested(Threshold))
    previous = fields.Nested(Period, metadata={"description": "the period the trends are measured against"})


class FlowStep(Schema):
    step = fields.String(validate=validate.OneOf(["reported", "accepted", "dispatched", "resolved", "verified", "closed"]))
    n = fields.Integer(metadata={"description": "incidents that took this step today"})


class GridNow(Schema):
    open = fields.Integer()
    overdue = fields.Integer()


class Today(Schema):
    reported = fields.Integer()
    closed = fields.Integer()


class Live(Schema):
    at = fields.String()
    area = fields.String(allow_none=True)
    since = fields.String()
    until = fields.String()
    open = fields.Integer()
    overdue = fields.Integer()
    today = fields.Nested(Today)
    flow = fields.List(fields.Nested(FlowStep))
    grids = fields.Dict(keys=fields.String(), values=fields.Nested(GridNow), metadata={"description": "grid code -> open work"})
    best = fields.List(fields.Nested(GridRank))
    worst = fields.List(fields.Nested(GridRank))
    totals = fields.Nested(StatsTotals)
