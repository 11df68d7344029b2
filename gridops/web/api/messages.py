"""The messages over HTTP, for those who watch and keep them: what became of every message (the command centre),
a failed copy sent again, the gateways' delivery receipts; the wordings, channel settings and group robots (admins).

Each view parses, calls one function of gridops.registers.messaging (or gridops.messages.deliveries for the
receipts, which carry no user), answers; who may call it is its line in gridops.access.policy.ROUTES.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from gridops.access.policy import Forbidden
from gridops.core import clock
from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.words import Say
from gridops.messages import deliveries
from gridops.messages.deliveries import MessageQuery
from gridops.messages.settings import effective
from gridops.messages.wording import preview
from gridops.registers import messaging
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.messages import (
    DeliveryView,
    IncidentMessages,
    MessageArgs,
    MessageList,
    PreviewBody,
    PreviewView,
    Receipt,
    ReceiptsDone,
    RetryBody,
    RobotChange,
    RobotCreate,
    RobotList,
    RobotView,
    SettingList,
    SettingsBody,
    TemplateBody,
    TemplateList,
    TemplateView,
    TestBody,
)
from gridops.web.request import caller, database

bp = Blueprint("messages", __name__, description="Messages: what became of each one (queued, sent, delivered, failed), "
                                                 "their wordings, channel settings and group robots")

RECEIPT_HEADER = "X-Receipt-Token"


# --- deliveries -------------------------------------------------------------------------------------------


@bp.get("/messages")
@bp.arguments(MessageArgs(), location="query", as_kwargs=True)
@bp.response(200, MessageList)
@problem_response(bp, 404, "no such worker")
def list_messages(**args: Any) -> dict[str, Any]:
    """Notifications, newest first, with their copies on each channel and what became of each; the copies counted
    per status. Filter by a copy's status or channel, the kind, the incident, the person, the time made."""
    q = MessageQuery(**args)
    with database().session() as session:
        return messaging.message_list(session, caller(), q)


@bp.post("/messages/<int:delivery_id>/retry")
@bp.arguments(RetryBody(), location="json")
@bp.response(200, DeliveryView)
@problem_response(bp, 404, "no such delivery")
@problem_response(bp, 409, "the copy is not failed")
def retry(body: dict[str, Any], delivery_id: int) -> dict[str, Any]:
    """Queue a failed copy again, due now, its tries counted afresh, with the same delivery key (audited)."""
    with database().session() as session:
        return messaging.retry(session, caller(), delivery_id, note=body.get("note"))


@bp.get("/incidents/<int:incident_id>/messages")
@bp.response(200, IncidentMessages)
@problem_response(bp, 404, "no such incident")
def incident_messages(incident_id: int) -> dict[str, Any]:
    """The messages an incident caused, oldest first: who heard of each step, on which channel, whether it arrived."""
    with database().session() as session:
        return {"incident": incident_id, "messages": messaging.incident_messages(session, caller(), incident_id)}


_RECEIPT = {"type": "object", "required": ["id", "status"], "properties": {
    "id": {"type": "string", "description": "the delivery key gridops sent"},
    "status": {"type": "string", "enum": ["delivered", "failed"]}, "error": {"type": "string", "nullable": True}}}
_RECEIPTS_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [_RECEIPT, {"type": "array", "items": _RECEIPT}]}}}}}


@bp.post("/messages/receipts/<channel>")
@bp.doc(**_RECEIPTS_DOC)
@bp.response(200, ReceiptsDone)
@problem_response(bp, 400, "not a receipt or a list of them")
@problem_response(bp, 403, "no receipt token, or not the one set (SMS_RECEIPT_TOKEN)")
@problem_response(bp, 404, "no such channel, or no receipts taken (SMS_RECEIPT_TOKEN unset)")
def receipts(channel: str) -> dict[str, Any]:
    """A gateway reports what reached the phone: {id: the delivery key, status: delivered|failed, error}, or a list
    of them, with the shared token in the X-Receipt-Token header (or ?token=). A sent copy becomes delivered or
    failed; a repeated receipt changes nothing."""
    given = request.headers.get(RECEIPT_HEADER) or request.args.get("token")
    with database().session() as session:
        expected = effective(current_app.config, session).get("SMS_RECEIPT_TOKEN")
        if not expected:  # as if there were no such endpoint: nothing here takes receipts
            raise NotFound(Say("delivery receipts are not taken here: no SMS_RECEIPT_TOKEN is set."))
        if not deliveries.token_matches(str(expected), given):
            raise Forbidden(Say("send the receipt token set as SMS_RECEIPT_TOKEN in the %(receipt_header)s header.",
                                receipt_header=RECEIPT_HEADER))
        return deliveries.apply_receipts(session, channel, _receipts(), clock.now())


def _receipts() -> list[dict[str, Any]]:
    """The receipt, or the list of them, each checked by the one schema."""
    raw = request.get_json(silent=True)
    items = raw if isinstance(raw, list) else [raw]
    schema = Receipt()
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidParameter("body", Say("send a receipt {\"id\": …, \"status\": \"delivered\"} or a JSON list of them."))
        errors = schema.validate(item)
        if errors:
            name, why = next(iter(errors.items()))
            raise InvalidParameter(str(name) if len(items) == 1 else f"{i}.{name}", Say("receipt %(i)s: %(name)s: %(value)s",
                                                                                        i=i, name=name, value=' '.join(map(str, why))))
        out.append(schema.load(item))
    return out


# --- wordings ---------------------------------------------------------------------------------------------


@bp.get("/message-templates")
@bp.response(200, TemplateList)
def list_templates() -> dict[str, Any]:
    """Every kind of message: the fields its messages have, and its wording in each language (built-in, and the
    admin's when there is one)."""
    with database().session() as session:
        return {"kinds": messaging.templates(session, caller())}


@bp.put("/message-templates/<kind>/<lang>")
@bp.arguments(TemplateBody(), location="json")
@bp.response(200, TemplateView)
@problem_response(bp, 404, "no such kind or language")
@problem_response(bp, 400, "the template cannot be rendered (the field says why)")
def set_template(body: dict[str, Any], kind: str, lang: str) -> dict[str, Any]:
    """Reword a kind of message in a language, from the next message made (audited)."""
    with database().session() as session:
        return messaging.set_template(session, caller(), kind, lang, body["text"], note=body.get("note"))


@bp.delete("/message-templates/<kind>/<lang>")
@bp.response(200, TemplateView)
@problem_response(bp, 404, "no such kind or language")
def reset_template(kind: str, lang: str) -> dict[str, Any]:
    """Back to the built-in wording (audited)."""
    with database().session() as session:
        return messaging.reset_template(session, caller(), kind, lang, note=request.args.get("note"))


@bp.post("/message-templates/<kind>/<lang>/preview")
@bp.arguments(PreviewBody(), location="json")
@bp.response(200, PreviewView)
@problem_response(bp, 404, "no such kind or language")
@problem_response(bp, 400, "the template cannot be rendered (the field says why)")
def preview_template(body: dict[str, Any], kind: str, lang: str) -> dict[str, Any]:
    """A wording (the one sent, else the built-in) rendered with sample data; nothing is stored."""
    return preview(kind, lang, body.get("text"))


# --- channel settings -------------------------------------------------------------------------------------


@bp.get("/message-settings")
@bp.response(200, SettingList)
def list_settings() -> dict[str, Any]:
    """Each channel setting, its value now and whether the page, the environment or the default gives it;
    a secret only says whether it is set."""
    with database().session() as session:
        return messaging.settings(session, caller(), current_app.config)


@bp.put("/message-settings")
@bp.arguments(SettingsBody(), location="json")
@bp.response(200, SettingList)
@problem_response(bp, 400, "a value cannot work (the field names the key); nothing was stored")
def change_settings(body: dict[str, Any]) -> dict[str, Any]:
    """Set settings on the page (they win over the environment's) or unset them (null); every dispatcher follows
    from its next pass (audited, secrets masked in the trail)."""
    with database().session() as session:
        return messaging.change_settings(session, caller(), current_app.config, body["values"], note=body.get("note"))


@bp.post("/message-settings/test")
@bp.arguments(TestBody(), location="json")
@bp.response(202, DeliveryView)
@problem_response(bp, 404, "no such robot")
@problem_response(bp, 409, "the channel is not configured")
def send_test(body: dict[str, Any]) -> dict[str, Any]:
    """A test message through the outbox to the address given (or a robot): its status shows whether the channel works."""
    with database().session() as session:
        return messaging.send_test(session, caller(), current_app.config, **body)


# --- group robots -----------------------------------------------------------------------------------------


@bp.get("/robots")
@bp.response(200, RobotList)
def list_robots() -> dict[str, Any]:
    """The group robots (企业微信群机器人, 钉钉机器人): the kinds each posts, for which ground; webhooks masked."""
    with database().session() as session:
        return {"robots": messaging.robots(session, caller())}


@bp.post("/robots")
@bp.arguments(RobotCreate(), location="json")
@bp.response(201, RobotView)
@problem_response(bp, 400, "an unknown area or kind, or a webhook that is no http(s) address")
def create_robot(body: dict[str, Any]) -> dict[str, Any]:
    note = body.pop("note", None)
    with database().session() as session:
        return messaging.create_robot(session, caller(), note=note, **body)


@bp.patch("/robots/<int:robot_id>")
@bp.arguments(RobotChange(), location="json")
@bp.response(200, RobotView)
@problem_response(bp, 404, "no such robot")
def change_robot(body: dict[str, Any], robot_id: int) -> dict[str, Any]:
    note = body.pop("note", None)
    with database().session() as session:
        return messaging.change_robot(session, caller(), robot_id, body, note=note)


@bp.delete("/robots/<int:robot_id>")
@bp.response(204)
@problem_response(bp, 404, "no such robot")
def delete_robot(robot_id: int) -> None:
    with database().session() as session:
        messaging.delete_robot(session, caller(), robot_id, note=request.args.get("note"))
