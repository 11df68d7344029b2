"""Shared pieces of the API's schemas: times and boxes as the API reads them, problem details."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, validate

from gridops.core.timeparse import EXAMPLE, BadValue, parse_bbox, parse_time
from gridops.core.types import STORED_ID_MAX
from gridops.web.i18n import say


class AwareDateTime(fields.Field):
    """ISO 8601; a time without a zone is read in the city's time zone. Always UTC inside."""

    def __init__(self, **kwargs: Any) -> None:
        # text on the wire, a datetime once read: the document's type is said here (apispec gives a plain Field none)
        metadata = {"type": "string", "format": "date-time", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"must be an ISO-8601 time like {EXAMPLE}.")
        try:
            return parse_time(value, current_app.config["TIMEZONE"], attr or "time")
        except BadValue as err:
            raise ValidationError(say(err.said_reason)) from None  # in the reader's language

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.isoformat()




def _described(description: str) -> dict[str, str]:
    return {"description": description} if description else {}


def stored_id(description: str = "") -> fields.Integer:
    """A field naming a stored row by id: beyond 64 bits it names none, and is refused before a query overflows."""
    return fields.Integer(validate=validate.Range(0, STORED_ID_MAX), metadata=_described(description))


def longitude(description: str = "") -> fields.Float:
    """A WGS-84 longitude (a worker's position): the document says the range, the schema refuses beyond it."""
    return fields.Float(allow_nan=False, validate=validate.Range(-180.0, 180.0), metadata=_described(description))


def latitude(description: str = "") -> fields.Float:
    return fields.Float(allow_nan=False, validate=validate.Range(-90.0, 90.0), metadata=_described(description))


_View = TypeVar("_View", bound=Callable[..., Any])
_NUMBER = r"-?\d+(\.\d+)?"


class BBox(fields.Field):
    """minlon,minlat,maxlon,maxlat in WGS-84."""

    def __init__(self, **kwargs: Any) -> None:
        # text on the wire, four numbers once read (see AwareDateTime)
        metadata = {"type": "string", "pattern": f"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[float, float, float, float]:
        try:
            return parse_bbox(str(value), attr or "bbox")
        except BadValue as err:
            raise ValidationError(say(err.said_reason)) from None  # in the reader's language


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


def problem_response(bp: Blueprint, status: int, description: str) -> Callable[[_View], _View]:
    """Document an error answer as it is sent: RFC 9457 problem details."""
    return bp.alt_response(status, schema=Problem, description=description, content_type="application/problem+json")


# why a change to reference data was made: kept in the audit trail (gridops.registers.audit)
NOTE = fields.String(validate=validate.Length(max=2000), metadata={"description": "why (kept in the audit trail)"})
