"""HTML pages: the landing page and the problem-type descriptions."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for

from gridops.access.users import WORKER_ROLES, Unauthorized

from gridops.core.errors import PROBLEM_TYPES, GridopsError
from gridops.core.health import health
from gridops.analytics.overview import overview
from gridops.web.request import PAGE_HEADER, database, principal

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


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //other.site or a full URL): no open redirect."""
    return target if target and target.startswith("/") and not target.startswith("//") else url_for("pages.worker")


@pages.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with the token from `gridops users add`; the page session then carries it."""
    error = None
    nxt = _safe_next(request.values.get("next"))
    if request.method == "POST":
        token = (request.form.get("token") or "").strip()
        who = None
        if token:
            with database().session() as s:
                who = current_app.extensions["gridops.principals"].principal(s, token)
        if who is None:
            error = "That token is not valid (unknown, or the user was deactivated). Ask your grid office for a new one."
        else:
            session.clear()
            session["token"] = token
            session.permanent = True
            return redirect(nxt)
    return render_template("login.html", error=error, next=nxt), (401 if error else 200)


@pages.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("pages.login"))


@pages.get("/worker")
def worker():
    """The grid worker's phone page: tasks with due times and distances, a small map, the steps, today's visits."""
    who, answer = _staff_page()
    if answer is not None:
        return answer
    if who.worker_id is None:
        return render_template("worker.html", who=who, not_worker=True, roles=sorted(WORKER_ROLES)), 403
    return render_template("worker.html", who=who, not_worker=False, page_header=PAGE_HEADER,
                           tile_url=current_app.config["TILE_URL"] or "")


def _staff_page(*roles: str):
    """The signed-in user for a page (of one of `roles`, when named), or where to send them."""
    try:
        who = principal()
    except Unauthorized:
        session.clear()
        who = None
    if who is None:
        return None, redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
    if roles and who.role not in roles:
        return None, (render_template("problem.html", slug="forbidden", title="Not for your role",
                                      description=f"a {who.role} may not open this page; it needs one of: {', '.join(roles)}."), 403)
    return who, None


MAP_ROLES = ("command_centre", "admin", "community_admin", "grid_leader", "planner")


@pages.get("/maps/risk")
def risk_page():
    """Hidden risks for a category, an area and a window: choropleths, Gi* spots, emerging classes, heat, weeks."""
    who, answer = _staff_page(*MAP_ROLES)
    if answer is not None:
        return answer
    from gridops.analytics.mapping import risk_page_html

    return risk_page_html(current_app, request.args)


@pages.get("/map")
def live_map_page():
    """The live map: boundaries, open incidents (clustered, coloured by status and urgency), workers; live."""
    who, answer = _staff_page(*MAP_ROLES)
    if answer is not None:
        return answer
    from gridops.analytics.mapping import live_page_html

    return live_page_html(current_app, who)


@pages.get("/dashboard")
def dashboard():
    """The measures per grid, community or street for a month (or any period), with the definitions and exports."""
    who, answer = _staff_page(*MAP_ROLES)
    if answer is not None:
        return answer
    from gridops.web.dashboard import dashboard_context

    context, status = dashboard_context(current_app, who, request.args)
    return render_template("dashboard.html", **context), status


@pages.get("/plan")
def plan_page():
    """The planner's page: a draft over the grids in force, coloured by households; metrics, checks, edits, impact."""
    who, answer = _staff_page("planner", "admin")
    if answer is not None:
        return answer
    from gridops.planning.drafts import communities

    with database().session() as s:
        options = communities(s, current_app.config["PRIMARY_LAYER"])
    return render_template("plan.html", who=who, page_header=PAGE_HEADER, communities=options,
                           tile_url=current_app.config["TILE_URL"] or "")
