"""A person's own messages and how they are reached (/me/messages), and the bell every signed-in page shows."""

from __future__ import annotations

from flask import current_app, render_template

from gridops.access.policy import Principal
from gridops.core.errors import GridopsError
from gridops.messages import contacts, inbox
from gridops.messages.contacts import CHANNEL_NAMES
from gridops.web.api.inbox import link_of, page_lang, reader
from gridops.web.pages.base import PageAnswer, pages, signed_in
from gridops.web.request import PAGE_HEADER, database, principal


@pages.app_template_global()
def page_reader() -> Principal | None:
    """The page's signed-in person, for the bell; none on a page nobody is signed in to (or whose session ended:
    the page itself still shows, the sign-in form above all)."""
    try:
        return principal()
    except GridopsError:
        return None


@pages.app_template_global()
def page_header_value() -> str:
    return PAGE_HEADER


@pages.get("/me/messages")
def my_messages() -> PageAnswer | str:
    """Every message, unread first, with what became of its SMS, WeCom or e-mail copy; and the form for how one is reached."""
    who = signed_in()
    with database().session() as session:
        lang = contacts.language(session, reader(who)) or page_lang()
        found = inbox.messages(session, reader(who), lang, limit=current_app.config["API_PAGE_SIZE"])
        contact = contacts.read(session, current_app.config, reader(who))
    for item in found["notifications"]:
        item["link"] = link_of(who, item)
    names = {c: (n[0] if page_lang() == "en" else n[1]) for c, n in CHANNEL_NAMES.items()}
    return render_template("messages.html", who=who, found=found, contact=contact, channel_names=names,
                           page_header=PAGE_HEADER)
