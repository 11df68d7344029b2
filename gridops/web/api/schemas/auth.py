"""Schemas of signing in by phone."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class PhoneCodeAsk(Schema):
    phone = fields.String(required=True, validate=validate.Length(max=32),
                          metadata={"description": "a mainland mobile number: 11 digits starting 13-19, +86 allowed",
                                    "example": "13900001111"})


class PhoneCodeSent(Schema):
    sent_to = fields.String(metadata={"description": "the number, masked (the same answer whether it has an account)"})
    expires_in = fields.Integer(metadata={"description": "seconds the code works for"})
    next_in = fields.Integer(metadata={"description": "seconds before another code may be asked for this number"})


class PhoneSignIn(Schema):
    phone = fields.String(required=True, validate=validate.Length(max=32), metadata={"example": "13900001111"})
    code = fields.String(required=True, validate=validate.Length(max=16),
                         metadata={"description": "the 6 digits of the SMS", "example": "042917"})


class SignedInUser(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String(metadata={"description": "resident, or the worker's or staff user's own role"})


class PhoneSignedIn(Schema):
    user = fields.Nested(SignedInUser)
    home = fields.String(metadata={"description": "the page this user starts on (a resident: the page they came from)"})
