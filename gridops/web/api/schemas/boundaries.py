"""Schemas of boundary files and versions, misfit."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gridops.web.api.schemas.common import AwareDateTime, Query


class BoundaryForm(Schema):
    layer = fields.String(metadata={"description": "layer code (default: the primary layer)"})
    effective = AwareDateTime(metadata={"description": "when the version takes effect (default now)"})
    accept_warnings = fields.Boolean(load_default=False, metadata={"description": "publish despite household warnings"})
    supersede = fields.Boolean(load_default=False, metadata={
        "description": "cancel versions already scheduled after this one's effective time (otherwise 409)"})
    crs = fields.String(metadata={"description": "override the file's CRS: an EPSG code, or gcj02 / bd09"})
    tolerance_m2 = fields.Float(load_default=1.0, validate=validate.Range(0, 1e6))


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
