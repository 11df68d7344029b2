"""The in-app messages and a person's own contact choices, as the API reads and writes them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gridops.web.api.schemas.common import Query, stored_id


class InboxArgs(Query):
    limit = fields.Integer(validate=validate.Range(1, 1000), metadata={"description": "messages on a page (default: the API's page size)"})
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


class Copy(Schema):
    channel = fields.String(metadata={"description": "sms, wecom or email"})
    address = fields.String(metadata={"description": "where it went: your phone, WeCom userid or e-mail"})
    status = fields.String(metadata={"description": "queued, sent, delivered (where the channel reports it) or failed"})
    attempts = fields.Integer()
    error = fields.String(allow_none=True, metadata={"description": "why it failed, or why the last try did (the gateway's words)"})
    held_until = fields.String(allow_none=True, metadata={"description": "held by your quiet hours until then"})
    sent_at = fields.String(allow_none=True)
    delivered_at = fields.String(allow_none=True)


class Message(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "assigned, warning, supervised, escalated, resolved … (gridops.messages.kinds)"})
    title = fields.String(metadata={"description": "in your language"})
    text = fields.String(metadata={"description": "in your language: the words the other channels send"})
    incident_id = fields.Integer(allow_none=True)
    link = fields.String(allow_none=True, metadata={"description": "the page where you can open the incident, if there is one"})
    urgent = fields.Boolean()
    created_at = fields.String()
    read_at = fields.String(allow_none=True)
    deliveries = fields.List(fields.Nested(Copy), metadata={"description": "the copies sent on other channels"})


class Inbox(Schema):
    notifications = fields.List(fields.Nested(Message))
    unread = fields.Integer(metadata={"description": "your unread messages, over all pages"})
    total = fields.Integer(metadata={"description": "all your messages"})
    limit = fields.Integer()
    offset = fields.Integer()


class ReadOne(Schema):
    id = fields.Integer()
    read_at = fields.String()
    unread = fields.Integer()


class ReadAllBody(Schema):
    up_to = stored_id("read every message up to this id (the newest the page showed); none: all of them")


class ReadAll(Schema):
    marked = fields.Integer(metadata={"description": "messages marked read now"})
    unread = fields.Integer()


def _text(description: str, **extra: object) -> fields.Raw:
    # read as it comes, so that what is wrong with it is said by gridops.messages.contacts, in the page's language
    return fields.Raw(allow_none=True, metadata={"type": "string", "nullable": True, "description": description, **extra})


class ContactBody(Schema):
    phone = _text("for SMS; null: the phone number the grid office holds for you")
    email = _text("for e-mail")
    wecom_user = _text("your 企业微信 userid; null: your 工号")
    channels = fields.Raw(allow_none=True, metadata={
        "type": "array", "items": {"type": "string"}, "nullable": True,
        "description": "the channels to reach you by, in order (of `available_channels`); [] the app only; null: the default "
                       "(the first that reaches you)"})
    quiet_hours = _text("22:00-07:00: non-urgent messages wait until it ends; \"\" none; null: the city's")
    lang = _text("zh_Hans_CN or en; null: Chinese", enum=["zh_Hans_CN", "en", None])


class Defaults(Schema):
    phone = fields.String(allow_none=True)
    wecom_user = fields.String(allow_none=True)
    quiet_hours = fields.String()
    lang = fields.String()


class Reach(Schema):
    channel = fields.String()
    address = fields.String()


class ContactView(Schema):
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    wecom_user = fields.String(allow_none=True)
    channels = fields.List(fields.String(), allow_none=True)
    quiet_hours = fields.String(allow_none=True)
    lang = fields.String(allow_none=True)
    defaults = fields.Nested(Defaults, metadata={"description": "what stands in for what you leave unset"})
    available_channels = fields.List(fields.String(), metadata={"description": "the channels this city has configured"})
    reached_by = fields.List(fields.Nested(Reach), metadata={"description": "where a message to you goes now (besides the app)"})
    updated_at = fields.String(allow_none=True)
