"""Schemas of patrol registers and visits (走访)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gridops.field.patrols import KINDS
from gridops.web.api.schemas.common import NOTE as _NOTE
from gridops.web.api.schemas.common import AwareDateTime, Query, latitude, longitude

PATROL_KINDS = list(KINDS)


class PatrolArgs(Query):
    area = fields.String(metadata={"description": "only the registers in this area (a grid or community code)"})


class PatrolCreate(Schema):
    household = fields.String(metadata={"description": "the household code of the person visited (the QR label on the door)"})
    building = fields.String(metadata={"description": "or the building code, when no household applies"})
    kind = fields.String(required=True, validate=validate.OneOf(PATROL_KINDS))
    interval_days = fields.Integer(validate=validate.Range(1, 366), metadata={"description": "days between visits (default by kind)"})
    person = fields.String(validate=validate.Length(max=64))
    phone = fields.String(validate=validate.Length(max=32))
    id_number = fields.String(validate=validate.Regexp(r"^\d{17}[\dXx]$", error="an ID number is 17 digits and a digit or X."))
    note = _NOTE


class OpenVisit(Schema):
    task = fields.Integer()
    due_at = fields.String(allow_none=True)


class PatrolView(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_name = fields.String()
    person = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "masked for roles that do not visit"})
    id_number = fields.String(allow_none=True, metadata={"description": "masked but for community staff and the command centre"})
    household = fields.String(allow_none=True)
    building = fields.String()
    address = fields.String(allow_none=True)
    grid = fields.String(allow_none=True)
    interval_days = fields.Integer()
    last_visit_at = fields.String(allow_none=True)
    next_visit_from = fields.String()
    open_visit = fields.Nested(OpenVisit, allow_none=True)
    active = fields.Boolean()
    paused_until = fields.String(allow_none=True, metadata={"description": "no visits through this day"})
    visits_cancelled = fields.Integer(metadata={"description": "after a change: open visits cancelled (the new one, if due, "
                                                               "is in open_visit)"})



class PatrolChange(Schema):
    interval_days = fields.Integer(strict=True, validate=validate.Range(1, 366), metadata={"description": "days between visits"})
    person = fields.String(allow_none=True, validate=validate.Length(max=64))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    note = _NOTE


class PatrolMove(Schema):
    household = fields.String(validate=validate.Length(min=1, max=48), metadata={"description": "the new door's household code"})
    building = fields.String(validate=validate.Length(min=1, max=32), metadata={"description": "or the new building"})
    note = _NOTE


class PatrolPause(Schema):
    until = fields.Date(required=True, metadata={"description": "the last day with no visits (in hospital until …)"})
    note = _NOTE


class PatrolNote(Schema):
    note = _NOTE


class PatrolList(Schema):
    registers = fields.List(fields.Nested(PatrolView))


class VisitBody(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=4000), metadata={"description": "how the visit went"})
    lon = longitude("where the worker is (WGS-84): within the check-in radius of the door")
    lat = latitude()
    away_reason = fields.String(validate=validate.Length(max=500), metadata={
        "description": "why the visit was not made at the door (电话回访, 住院探视 …): then no position is needed; counted apart"})
    device_time = AwareDateTime(metadata={"description": "when the visit was made on the phone (sent later from its outbox); "
                                                         "more than 5 minutes in the server's future is refused"})


class VisitDone(Schema):
    id = fields.Integer()
    status = fields.String()
    completed_at = fields.String()
    device_at = fields.String(allow_none=True, metadata={"description": "when the phone says it was made"})
    distance_m = fields.Float(allow_none=True, metadata={"description": "from the door, when the position was sent"})
    away_reason = fields.String(allow_none=True)
    note = fields.String()
    next_visit_from = fields.String(allow_none=True)
