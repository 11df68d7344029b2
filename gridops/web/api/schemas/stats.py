"""Schemas of the measures per area."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from gridops.web.api.schemas.common import AwareDateTime, Query


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
    visits = fields.Integer(metadata={"description": "走访 recorded in the period"})
    visits_away = fields.Integer(metadata={"description": "of those, recorded away from the door with a reason"})


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
