"""The landing page (what is loaded, links to everything) and the problem-type pages."""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_babel import gettext

from gridops.analytics.overview import overview
from gridops.core.errors import GridopsError
from gridops.core.health import health
from gridops.web.i18n import say
from gridops.web.pages.base import pages
from gridops.web.problems import PROBLEM_TYPES
from gridops.web.request import database


@pages.get("/")
def index() -> str:
    db = database()
    summary = problem = status = None
    try:
        status = health(db)
        with db.session() as session:
            summary = overview(session, current_app.config["PRIMARY_LAYER"])
    except GridopsError as err:
        problem = say(err.public_said)
    return render_template("index.html", summary=summary, status=status, problem=problem,
                           layer=current_app.config["PRIMARY_LAYER"])


@pages.get("/problems/<slug>")
def problem_type(slug: str) -> str:
    if slug not in PROBLEM_TYPES:
        abort(404, description=f"no problem type {slug!r}")
    _, title, description = PROBLEM_TYPES[slug]
    return render_template("problem.html", slug=slug, title=gettext(title), description=description)
