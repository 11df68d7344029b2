"""HTML pages: the landing page and the problem-type descriptions."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, render_template

from .errors import PROBLEM_TYPES, GridopsError
from .health import health
from .overview import overview
from .web import database

pages = Blueprint("pages", __name__)


@pages.app_template_filter("localtime")
def localtime(value: datetime) -> str:
    """A stored (UTC) time as the city reads it."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M ") + current_app.config["TIMEZONE"]


@pages.get("/")
def index():
    db = database()
    summary = problem = status = None
    try:
        status = health(db)
        with db.session() as session:
            summary = overview(session, current_app.config["PRIMARY_LAYER"])
    except GridopsError as err:
        problem = err.message
    return render_template("index.html", summary=summary, status=status, problem=problem,
                           layer=current_app.config["PRIMARY_LAYER"])


@pages.get("/problems/<slug>")
def problem_type(slug: str):
    if slug not in PROBLEM_TYPES:
        abort(404, description=f"no problem type {slug!r}")
    title, description = PROBLEM_TYPES[slug]
    return render_template("problem.html", slug=slug, title=title, description=description)
