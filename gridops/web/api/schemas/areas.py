"""Schemas of areas as GeoJSON."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gridops.web.api.schemas.common import AwareDateTime, BBox, Geometry, Link, Query, VersionMeta


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
