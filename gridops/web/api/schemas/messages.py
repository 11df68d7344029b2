"""Schemas of the messages' admin side: deliveries and their status, wordings, channel settings, group robots."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from gridops.messages.deliveries import CHANNELS, STATUSES
from gridops.messages.fanout import ROBOTS
from gridops.messages.kinds import KINDS
from gridops.web.api.schemas.common import NOTE, AwareDateTime, Query, stored_id


class MessageArgs(Query):
    status = fields.String(validate=validate.OneOf(STATUSES), metadata={"description": "only copies in this status (held: "
                                                                                        "queued until quiet hours end)"})
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    kind = fields.String(validate=validate.OneOf(list(KINDS)))
    incident = stored_id("only the messages of this incident")
    worker = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "only those to this worker (工号)"})
    user = stored_id("only those to this user")
    phone = fields.String(validate=validate.Length(min=1, max=32), metadata={"description": "only those to this phone (a resident)"})
    since = AwareDateTime(metadata={"description": "made at or after"})
    until = AwareDateTime(metadata={"description": "made before"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    before = stored_id("notifications older than this id (the answer's next_before)")


class RobotRef(Schema):
    id = fields.Integer()
    name = fields.String(allow_none=True, metadata={"description": "null: the robot was removed"})


class DeliveryView(Schema):
    id = fields.Integer()
    notification = fields.Integer()
    channel = fields.String()
    address = fields.String(allow_none=True, metadata={"description": "the phone, WeCom userid or e-mail (null for a robot)"})
    robot = fields.Nested(RobotRef, allow_none=True)
    status = fields.String(metadata={"description": "queued, held (quiet hours), sent, delivered, failed"})
    attempts = fields.Integer()
    error = fields.String(allow_none=True, metadata={"description": "the last failure, in the gateway's words"})
    key = fields.String(metadata={"description": "the delivery key a gateway drops repeats by (and its receipts name)"})
    provider_id = fields.String(allow_none=True)
    body = fields.String()
    created_at = fields.String()
    next_at = fields.String(allow_none=True, metadata={"description": "when a queued copy is tried next"})
    sent_at = fields.String(allow_none=True)
    delivered_at = fields.String(allow_none=True)


class Recipient(Schema):
    class Meta:
        unknown = INCLUDE

    worker = fields.String()
    user = fields.Integer()
    name = fields.String()
    role = fields.String()
    phone = fields.String(allow_none=True)


class MessageView(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    title_en = fields.String()
    incident = fields.Integer(allow_none=True)
    to = fields.Nested(Recipient)
    message = fields.String()
    urgent = fields.Boolean()
    created_at = fields.String()
    fanned_at = fields.String(allow_none=True, metadata={"description": "null: its copies are not made yet"})
    read_at = fields.String(allow_none=True)
    deliveries = fields.List(fields.Nested(DeliveryView))


class Counts(Schema):
    queued = fields.Integer()
    held = fields.Integer()
    sent = fields.Integer()
    delivered = fields.Integer()
    failed = fields.Integer()
    waiting = fields.Integer(metadata={"description": "notifications whose copies are not made yet"})


class MessageList(Schema):
    messages = fields.List(fields.Nested(MessageView))
    counts = fields.Nested(Counts)
    next_before = fields.Integer(allow_none=True)


class IncidentMessages(Schema):
    incident = fields.Integer()
    messages = fields.List(fields.Nested(MessageView))


class RetryBody(Schema):
    note = NOTE


class Receipt(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={"description": "the delivery key"})
    status = fields.String(required=True, validate=validate.OneOf(["delivered", "failed"]))
    error = fields.String(allow_none=True, validate=validate.Length(max=2000))


class ReceiptsDone(Schema):
    delivered = fields.Integer()
    failed = fields.Integer()
    unchanged = fields.Integer()
    unknown_ = fields.List(fields.String(), data_key="unknown", attribute="unknown",
                           metadata={"description": "ids gridops never gave (ignored)"})


class TemplateView(Schema):
    kind = fields.String()
    lang = fields.String()
    title = fields.String()
    builtin = fields.String()
    custom = fields.String(allow_none=True, metadata={"description": "the admin's wording; null: the built-in one is used"})
    updated_at = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)


class KindView(Schema):
    kind = fields.String()
    name = fields.String()
    name_en = fields.String()
    urgent = fields.Boolean()
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields",
                          metadata={"description": "the fields its messages have: {incident}, {due} …"})
    templates = fields.List(fields.Nested(TemplateView))


class TemplateList(Schema):
    kinds = fields.List(fields.Nested(KindView))


class TemplateBody(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                         metadata={"description": "the wording, fields in braces ({incident}); a literal brace doubled"})
    note = NOTE


class PreviewBody(Schema):
    text = fields.String(validate=validate.Length(min=1, max=2000), metadata={"description": "absent: the built-in wording"})


class PreviewView(Schema):
    kind = fields.String()
    lang = fields.String()
    title = fields.String()
    text = fields.String()
    data = fields.Dict(metadata={"description": "the sample fields it was rendered with"})
    unknown_fields = fields.List(fields.String(), metadata={"description": "fields this kind's messages do not have (render empty)"})


class SettingView(Schema):
    key = fields.String()
    value = fields.String(allow_none=True, metadata={"description": "null for a secret: it is never sent back"})
    set = fields.Boolean()
    secret = fields.Boolean()
    source = fields.String(metadata={"description": "page, environment or default"})
    choices = fields.List(fields.String(), allow_none=True)
    environment = fields.String(allow_none=True, metadata={"description": "what unsetting the page's value falls back to"})
    updated_at = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)


class SettingList(Schema):
    settings = fields.List(fields.Nested(SettingView))
    channels = fields.List(fields.String(), metadata={"description": "the channels configured now"})


class SettingsBody(Schema):
    values = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True,
                         metadata={"description": "KEY: value to set, KEY: null to unset (back to the environment's)"})
    note = NOTE


class TestBody(Schema):
    channel = fields.String(validate=validate.OneOf(["sms", "wecom", "email"]))
    address = fields.String(validate=validate.Length(min=1, max=256), metadata={"description": "a phone, a WeCom userid, an e-mail"})
    robot = stored_id("a robot to post the test to (instead of channel and address)")


class RobotView(Schema):
    id = fields.Integer()
    name = fields.String()
    channel = fields.String()
    webhook = fields.String(metadata={"description": "masked: each query value cut to its last four characters"})
    has_secret = fields.Boolean()
    area_code = fields.String(allow_none=True)
    kinds = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.String()


class RobotList(Schema):
    robots = fields.List(fields.Nested(RobotView))


_KINDS = fields.List(fields.String(validate=validate.OneOf(list(KINDS))), validate=validate.Length(min=1))


class RobotCreate(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    channel = fields.String(required=True, validate=validate.OneOf(sorted(ROBOTS)))
    webhook = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    secret = fields.String(allow_none=True, validate=validate.Length(max=128), load_only=True,
                           metadata={"description": "DingTalk's 加签 secret; never sent back"})
    area_code = fields.String(allow_none=True, validate=validate.Length(max=32), metadata={"description": "null: the whole city"})
    kinds = fields.List(fields.String(validate=validate.OneOf(list(KINDS))), required=True, validate=validate.Length(min=1))
    active = fields.Boolean(load_default=True)
    note = NOTE


class RobotChange(Schema):
    name = fields.String(validate=validate.Length(min=1, max=64))
    channel = fields.String(validate=validate.OneOf(sorted(ROBOTS)))
    webhook = fields.String(validate=validate.Length(min=1, max=2000))
    secret = fields.String(allow_none=True, validate=validate.Length(max=128), load_only=True,
                           metadata={"description": "a new secret; null or empty removes it; absent keeps it"})
    area_code = fields.String(allow_none=True, validate=validate.Length(max=32))
    kinds = _KINDS
    active = fields.Boolean()
    note = NOTE
