"""Schemas of planners' drafts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class PlanArgs(Schema):
    community = fields.String(metadata={"description": "only the drafts of this community"})


class PlanCreate(Schema):
    community = fields.String(required=True, validate=validate.Length(min=1, max=32), metadata={"description": "the community's code"})
    method = fields.String(load_default="generate", validate=validate.OneOf(["generate", "rebalance", "copy"]), metadata={
        "description": "generate: new boundaries from the buildings; rebalance: the grids in force with as few households "
                       "moved as bring every grid within bounds; copy: the grids in force, to edit by hand"})
    grid_households_min = fields.Integer(validate=validate.Range(1, 100000),
                                         metadata={"description": "default: the grid level's bound (300)"})
    grid_households_max = fields.Integer(validate=validate.Range(1, 100000),
                                         metadata={"description": "default: the grid level's bound (500)"})
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
    effective_from = fields.AwareDateTime(
        metadata={"description": "when the new boundaries take effect (ISO time with offset; default now)"})
    accept_warnings = fields.Boolean(load_default=False, metadata={
        "description": "publish although the checks found something (a grid out of bounds, in pieces, ragged)"})
    supersede = fields.Boolean(load_default=False, metadata={
        "description": "cancel versions already scheduled after this one's effective time (otherwise 409)"})
    workers = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=32)),
                          values=fields.String(validate=validate.Length(min=1, max=32)), load_default=dict,
                          metadata={"description": "grid code -> worker code (工号): each answers for that grid from "
                                                   "effective_from (a grid nobody would answer for needs one, or acceptance)",
                                    "example": {"510199001002009": "W0031"}})
    accept_uncovered = fields.List(fields.String(validate=validate.Length(min=1, max=32)), load_default=list, metadata={
        "description": "grids published knowingly with nobody answering for them (their reports go to the community admin)"})


class PlanGrid(Schema):
    code = fields.String()
    name = fields.String(metadata={"description": "its name in force, else the one it is published with (社区第N网格)"})
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
    names = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "grid code -> name, for the plan's grids and those in force it retires"})
    checks = fields.List(fields.Dict(), metadata={"description": "households, contiguity, compactness, gaps, overlaps, nesting"})
    impact = fields.Dict(metadata={"description": "households (`moves`: from, to, households, buildings), workers, open incidents "
                                                  "and patrol visits that would change grid; grids nobody would answer for"})
    grids = fields.List(fields.Nested(PlanGrid))
    published = fields.Dict(metadata={"description": "after publishing: the version made and what was moved"})


class PlanList(Schema):
    drafts = fields.List(fields.Nested(PlanSummary))


class PlanGeoArgs(Schema):
    which = fields.String(load_default="draft", validate=validate.OneOf(["draft", "published", "buildings"]), metadata={
        "description": "draft: its grids and micro-grids; published: the grids in force there; buildings: entrances with their grid"})
