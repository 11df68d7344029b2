"""Schemas of the city's base-map tiles."""

from __future__ import annotations

from marshmallow import Schema, fields

from gridops.web.api.schemas.common import Geometry


class BasemapProperties(Schema):
    layer = fields.String(metadata={"description": "street or building"})
    kind = fields.String(metadata={"description": "a street's kind: arterial, local, lane"})
    name = fields.String(metadata={"description": "a street's name (its label)"})
    use = fields.String(metadata={"description": "a building's use: residential, …"})


class BasemapFeature(Schema):
    type = fields.Constant("Feature")
    geometry = fields.Nested(Geometry)
    properties = fields.Nested(BasemapProperties)


class BasemapTile(Schema):
    type = fields.Constant("FeatureCollection")
    features = fields.List(fields.Nested(BasemapFeature))
