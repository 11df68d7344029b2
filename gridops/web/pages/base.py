"""What every page shares: the blueprint, local times, and signing a page's user in."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from gridops.access.policy import Principal, Unauthorized, require_permission
from gridops.core.errors import GridopsError
from gridops.web.problems import describe
from gridops.web.request import principal

pages = Blueprint("pages", __name__)
PageAnswer = Response | tuple[str, int]


@pages.app_template_filter("localtime")
def localtime(value: datetime) -> str:
    """A stored (UTC) time as the city reads it."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M ") + current_app.config["TIMEZONE"]


def signed_in(permission: str | None = None) -> tuple[Principal | None, PageAnswer | None]:
    """The signed-in user for a page (holding `permission`, when named), or where to send them instead."""
    try:
        who = principal()
    except Unauthorized:
        session.clear()
        who = None
    if who is None:
        return None, redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
    if permission is not None:
        try:
            require_permission(who, permission)
        except GridopsError as err:
            p = describe(err)
            return None, (render_template("problem.html", slug=p.slug, title="Not for your role", description=p.detail), p.status)
    return who, None
