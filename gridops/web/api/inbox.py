"""The signed-in person's own messages (in the app) and their choices of how and when to be reached."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask_babel import get_locale

from gridops.access.policy import ROUTES, Principal
from gridops.core import clock
from gridops.core.errors import InvalidParameter
from gridops.core.words import Say
from gridops.messages import contacts, inbox
from gridops.messages.contacts import Reader
from gridops.messages.kinds import DEFAULT_LANG
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.inbox import ContactBody, ContactView, Inbox, InboxArgs, ReadAll, ReadAllBody, ReadOne
from gridops.web.request import caller, database

bp = Blueprint("inbox", __name__, description="Your messages in the app (new tasks, warnings, answers to your reports), and how "
                                               "you are reached: channels, quiet hours, language")


def reader(who: Principal) -> Reader:
    return Reader(who.user_id, who.worker_id)


def page_lang() -> str:
    """The language the page asked in, as the messages name it."""
    return "en" if str(get_locale()) == "en" else DEFAULT_LANG


def link_of(who: Principal, item: dict[str, Any]) -> str | None:
    """Where the reader opens the incident: the message's own link (a resident's follow-up page), else their work page."""
    if item["link"] or item["incident_id"] is None:
        return item["link"]
    if who.worker_id is not None and ROUTES["pages.worker"].admits(who.role):
        return url_for("pages.worker") + f"#incident-{item['incident_id']}"
    if ROUTES["pages.live_map_page"].admits(who.role):
        return url_for("pages.live_map_page") + f"#incident-{item['incident_id']}"
    return None


@bp.get("/me/notifications")
@bp.arguments(InboxArgs(), location="query", as_kwargs=True)
@bp.response(200, Inbox)
@problem_response(bp, 400, "`limit` or `offset` is out of range")
@problem_response(bp, 401, "no valid token")
def notifications(**args: Any) -> dict[str, Any]:
    """Your messages, unread first and then newest first, each in your language with what became of its SMS, WeCom or
    e-mail copy (failed ones with the reason); `unread` counts them all."""
    who = caller()
    cfg = current_app.config
    limit = args.get("limit") or cfg["API_PAGE_SIZE"]
    if limit > cfg["API_MAX_PAGE_SIZE"]:
        raise InvalidParameter("limit", Say("`limit` must be between 1 and %(cfg)s, got %(limit)s.",
                                            cfg=cfg['API_MAX_PAGE_SIZE'], limit=limit))
    with database().session() as session:
        lang = contacts.language(session, reader(who)) or page_lang()
        found = inbox.messages(session, reader(who), lang, limit=limit, offset=args["offset"])
    for item in found["notifications"]:
        item["link"] = link_of(who, item)
    return found


@bp.post("/me/notifications/<int:notification_id>/read")
@bp.response(200, ReadOne)
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 404, "you have no such message")
def read_one(notification_id: int) -> dict[str, Any]:
    """Mark one of your messages read."""
    who = caller()
    with database().session() as session:
        return inbox.mark_read(session, reader(who), notification_id, at=clock.now())


@bp.post("/me/notifications/read")
@bp.arguments(ReadAllBody(), location="json", required=False)
@bp.response(200, ReadAll)
@problem_response(bp, 400, "`up_to` is not a message id")
@problem_response(bp, 401, "no valid token")
def read_all(body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Mark all your messages read, or those up to `up_to` (the newest the page showed: one that came meanwhile stays unread)."""
    who = caller()
    with database().session() as session:
        return inbox.mark_all_read(session, reader(who), at=clock.now(), up_to=(body or {}).get("up_to"))


@bp.get("/me/contact")
@bp.response(200, ContactView)
@problem_response(bp, 401, "no valid token")
def contact() -> dict[str, Any]:
    """How you are reached: what you set, what stands in for what you left unset, and where a message goes now."""
    who = caller()
    with database().session() as session:
        return contacts.read(session, current_app.config, reader(who))


@bp.put("/me/contact")
@bp.arguments(ContactBody(), location="json")
@bp.response(200, ContactView)
@problem_response(bp, 400, "a field cannot be used (an unconfigured channel, bad quiet hours …): `field` names it, in the "
                           "page's language")
@problem_response(bp, 401, "no valid token")
def change_contact(body: dict[str, Any]) -> dict[str, Any]:
    """Set how you are reached: the fields sent (null: the default), those left out stay as they are. All or nothing."""
    who = caller()
    with database().session() as session:
        return contacts.change(session, current_app.config, reader(who), body, at=clock.now(), lang=page_lang())
