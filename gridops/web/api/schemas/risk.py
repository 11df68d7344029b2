"""Schemas of the hidden risks: cells, grids, hot spots with their names and patrols, and patrol orders."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from gridops.web.api.schemas.common import Query

_WINDOW = ("a day (2026-11-23: that whole day, local time) or a time; default: ")


class RiskArgs(Query):
    category = fields.String(metadata={"description": "a category code, or a group (hazard, dispute …); default all"})
    area = fields.String(metadata={"description": "a street or community code: the study area (default the whole layer)"})
    since = fields.String(metadata={"description": _WINDOW + "8 weeks before `until`"})
    until = fields.String(metadata={"description": _WINDOW + "the end of today; a day alone includes that whole day"})
    res = fields.Integer(load_default=10, metadata={"description": "H3 resolution of the cells, 7 to 10"})
    recent_days = fields.Integer(load_default=14, metadata={"description": "the heat layer's window, in days (1–90)"})
    view = fields.String(load_default="all", validate=validate.OneOf(["all", "cells", "grids", "spots"]),
                         metadata={"description": "cells, grids or hot spots only (all: every part)"})


class RiskCell(Schema):
    cell = fields.String(metadata={"description": "H3 cell (hex)"})
    count = fields.Integer()
    weekly = fields.List(fields.Integer(), metadata={"description": "incidents per weekly slice, oldest first"})
    households = fields.Integer()
    rate_per_1000_households = fields.Float(allow_none=True)
    gi_z = fields.Float(metadata={"description": "Getis-Ord Gi* z-score"})
    gi_bin = fields.Integer(metadata={"description": "+3/+2/+1 hot at 99/95/90%, negatives cold, 0 neither (FDR-corrected)"})
    gi_label = fields.String(metadata={"description": "the bin in the reader's language"})
    trend = fields.String(metadata={"description": "emerging hot-spot class (new, consecutive, intensifying …, no pattern)"})
    trend_label = fields.String()
    trend_z = fields.Float(allow_none=True, metadata={"description": "Mann-Kendall z of the weekly Gi* scores"})
    grid = fields.String(allow_none=True, metadata={"description": "the grid the cell's centre lies in"})
    grid_name = fields.String(allow_none=True)


class RiskGrid(Schema):
    code = fields.String()
    name = fields.String()
    households = fields.Integer()
    count = fields.Integer()
    rate_per_1000_households = fields.Float(allow_none=True)
    community = fields.String(allow_none=True)
    community_name = fields.String(allow_none=True)


class NamedArea(Schema):
    code = fields.String()
    name = fields.String()


class SpotPatrols(Schema):
    class Meta:
        unknown = INCLUDE

    orders = fields.Integer()
    first_ordered_at = fields.String()
    first_day = fields.String()
    tasks = fields.List(fields.Integer())
    before_per_week = fields.Float(metadata={"description": "incidents a week in the 4 weeks before the first order"})
    after_per_week = fields.Float(allow_none=True, metadata={"description": "incidents a week since (none before a week)"})
    before_rate_per_1000_households_week = fields.Float(allow_none=True)
    after_rate_per_1000_households_week = fields.Float(allow_none=True)
    state = fields.String(metadata={"description": "cooled, not_cooled or too_early"})
    summary = fields.String()


class HotSpot(Schema):
    id = fields.String(metadata={"description": "its first cell: stable while the spot holds that cell"})
    name = fields.String(metadata={"description": "the grids it lies in"})
    community_name = fields.String()
    sentence = fields.String(metadata={"description": "what it means, in plain words (the reader's language)"})
    cells = fields.List(fields.String())
    count = fields.Integer()
    weekly = fields.List(fields.Integer())
    households = fields.Integer()
    rate_per_1000_households = fields.Float(allow_none=True)
    gi_bin = fields.Integer()
    gi_z_max = fields.Float()
    gi_label = fields.String()
    trend = fields.String()
    trend_label = fields.String()
    grids = fields.List(fields.Nested(NamedArea))
    communities = fields.List(fields.Nested(NamedArea))
    micro_grids = fields.List(fields.Nested(NamedArea), metadata={"description": "the micro-grids a patrol order covers"})
    centre = fields.List(fields.Float(), metadata={"description": "lon, lat"})
    patrols = fields.Nested(SpotPatrols, allow_none=True, metadata={"description": "patrols ordered here, and whether it cooled"})


class Risk(Schema):
    class Meta:
        unknown = INCLUDE

    query = fields.Dict()
    boundary_version = fields.Integer()
    weeks = fields.List(fields.String(), metadata={"description": "the first day of each weekly slice (local)"})
    total = fields.Integer()
    method = fields.Dict(keys=fields.String(), values=fields.Raw())
    hot_spot_cells = fields.Integer()
    cold_spot_cells = fields.Integer()
    classes = fields.Dict()
    hot_spots = fields.List(fields.Nested(HotSpot))
    cells = fields.List(fields.Nested(RiskCell))
    grids = fields.List(fields.Nested(RiskGrid))
    heat = fields.Dict()


class PatrolOrderBody(Schema):
    category = fields.String(allow_none=True, load_default=None, metadata={"description": "the map's category or group"})
    res = fields.Integer(required=True, metadata={"description": "the cells' H3 resolution"})
    cells = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=2000),
                        metadata={"description": "the hot spot's cells, as GET /risk gives them"})
    note = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    since = fields.String(load_default=None, allow_none=True, metadata={"description": "the map's window (ignored)"})
    until = fields.String(load_default=None, allow_none=True, metadata={"description": "the map's window (ignored)"})


class OrderedTask(Schema):
    id = fields.Integer()
    worker_id = fields.Integer()
    worker_name = fields.String(allow_none=True)
    micro_grid = fields.String()
    micro_grid_name = fields.String()
    grid = fields.String(allow_none=True)


class PatrolOrderDone(Schema):
    order = fields.Integer()
    created_at = fields.String()
    title = fields.String()
    category = fields.String(allow_none=True)
    due_at = fields.String()
    checklist = fields.List(fields.String())
    tasks = fields.List(fields.Nested(OrderedTask))
    unassigned = fields.List(fields.Nested(NamedArea), metadata={"description": "micro-grids no worker answers for"})
    workers = fields.List(fields.Dict())
