"""Schemas of locating points, one or a batch."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gridops.web.api.schemas.common import AreaRef, AwareDateTime, Query, VersionMeta

CRS_NAMES = "wgs84 (default), cgcs2000, gcj02 (AMap, Tencent, WeChat) or bd09 (Baidu)"


class LocateArgs(Query):
    lon = fields.Float(allow_nan=False, metadata={"description": "longitude in `crs`"})
    lat = fields.Float(allow_nan=False, metadata={"description": "latitude in `crs`"})
    crs = fields.String(metadata={"description": CRS_NAMES})
    building = fields.String(metadata={"description": "a building code"})
    household = fields.String(metadata={"description": "a household code (the QR label on a door)"})
    address = fields.String(metadata={"description": "address text; ambiguous text returns the candidates"})
    at = AwareDateTime(metadata={"description": "locate as of this time (default now)"})


class BatchArgs(Query):
    crs = fields.String(metadata={"description": f"CRS of rows without their own: {CRS_NAMES}"})
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
