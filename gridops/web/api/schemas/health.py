"""Schemas of /healthz."""

from __future__ import annotations

from marshmallow import Schema, fields


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
