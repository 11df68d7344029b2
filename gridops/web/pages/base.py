"""What every page shares: the blueprint, local times, and the page's user."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template
from werkzeug.wrappers import Response

from gridops.access.policy import Principal
from gridops.web.request import principal

pages = Blueprint("pages", __name__)
PageAnswer = Response | tuple[str, int]


@pages.app_template_filter("localtime")
def localtime(value: datetime | str | None) -> str:
    """A stored (UTC) time, or one as the API writes it (ISO 8601), as the city reads it."""
    if not value:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M ") + current_app.config["TIMEZONE"]


@pages.app_template_filter("localday")
def localday(value: datetime | str | None) -> str:
    """The city's day of a stored time (an assignment from Monday reads 2026-12-07, not 2026-12-06T16:00Z)."""
    if not value:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y-%m-%d")


@pages.app_template_filter("localminute")
def localminute(value: datetime | str | None) -> str:
    """A stored time as a resident reads it: the city's day and minute, no zone (they live in it)."""
    if not value:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y-%m-%d %H:%M")


def signed_in() -> Principal:
    """The page's user: the guard (gridops.web.guard) has signed them in and admitted their role."""
    who = principal()
    assert who is not None  # pages other than the public ones are declared for signed-in roles
    return who


def with_map_chrome(html: str) -> str:
    """A full-window map page (folium writes the whole document) with what every page's header shows — the way
    home, the language switch and the bell — laid over the map, before the document's last `</body>`."""
    chrome = render_template("_map_chrome.html")
    head, tag, tail = html.rpartition("</body>")
    return head + chrome + tag + tail if tag else html + chrome
