"""What every page shares: the blueprint, local times, and the page's user."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app
from werkzeug.wrappers import Response

from gridops.access.policy import Principal
from gridops.web.request import principal

pages = Blueprint("pages", __name__)
PageAnswer = Response | tuple[str, int]


@pages.app_template_filter("localtime")
def localtime(value: datetime) -> str:
    """A stored (UTC) time as the city reads it."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M ") + current_app.config["TIMEZONE"]


def signed_in() -> Principal:
    """The page's user: the guard (gridops.web.guard) has signed them in and admitted their role."""
    who = principal()
    assert who is not None  # pages other than the public ones are declared for signed-in roles
    return who
