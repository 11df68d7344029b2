"""The command centre's pages: the dispatch console (the live map and its queue) and the measures (the hidden-risk
map: gridops.web.pages.risk)."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from flask_babel import gettext
from sqlalchemy import select

from gridops.access.policy import ROLES
from gridops.analytics.live import boundaries
from gridops.core import clock
from gridops.core.models import Category, CategoryGroup
from gridops.incidents.loop import CLOSED, LADDER, OPEN, STATUSES, STEPS
from gridops.incidents.names import STATUS_NAMES, STEP_NAMES, TIER_NAMES, name
from gridops.web.i18n import N_, lang_code, page_lang
from gridops.web.measures import english
from gridops.web.pages.admin import URGENCIES
from gridops.web.pages.base import PageAnswer, pages, signed_in
from gridops.web.pages.dashboard import dashboard_context, screen_context
from gridops.web.request import PAGE_HEADER, database

# statuses, steps and tiers are named by the one table (gridops.incidents.names); urgencies as the admin pages name them

# the console's words (console.js asks gridopsT(key, {…}))
CONSOLE_WORDS = {
    "shown": N_("{n} shown of {total}"), "shown_all": N_("{n} shown"), "more": N_("the first {n} are listed: narrow the filters"),
    "newest": N_("the newest {n} of {total} loaded"),
    "new_badge": N_("new"), "overdue": N_("overdue"), "supervised": N_("supervised"),
    "unassigned": N_("unassigned"), "due": N_("due {time}"),
    "loading": N_("Loading…"), "load_failed": N_("Could not load: {error}"), "nothing": N_("No incident matches."),
    "sound_on": N_("Sound on"), "sound_off": N_("Sound off"),
    "p_grid": N_("Grid"), "p_address": N_("Address"),
    "p_reported": N_("Reported at"), "p_due": N_("Due by"), "p_assignee": N_("Assignee"), "p_reason": N_("Why them"),
    "p_tier": N_("Tier"), "p_reporter": N_("Reporter"), "p_rating": N_("Rating"),
    "p_photos": N_("Photos"), "p_history": N_("History"), "p_steps": N_("What you may do"), "p_flags": N_("Checks"),
    "no_steps": N_("There is no step for you to take on this incident now."),
    "field_step": N_("{step}: done by the assignee on the grid worker's phone page."),
    "anonymous": N_("anonymous"), "close_panel": N_("Close"),
    "photo_report": N_("report"), "photo_resolve": N_("resolution"), "enlarge": N_("Click to enlarge"),
    "note": N_("Note"), "note_needed": N_("Note (needed)"), "note_hint": N_("why, or what was done"),
    "submit": N_("Confirm: {step}"), "cancel": N_("Cancel"), "sending": N_("Sending…"),
    "done": N_("Done: {step} · now {status}"), "need_note": N_("Please write a note."),
    "worker": N_("Worker"), "worker_auto": N_("Let routing choose"), "target": N_("Merge into incident no."),
    "target_hint": N_("an open report nearby"), "need_target": N_("Choose the incident to merge into."),
    "reached": N_("The resident answered"), "not_reached": N_("Not reached (call again later)"),
    "rating": N_("Rating"), "stars": N_("{n} stars"), "words": N_("The resident's words"),
    "need_rating": N_("Choose the resident's rating."), "need_reached": N_("Say whether the resident answered."),
    "low_rating": N_("A rating of 1 or 2 reopens the incident."),
    "live": N_("live"), "reconnecting": N_("reconnecting…"),
    "system": N_("system"),
    "l_grids": N_("Grids"), "l_micro": N_("Micro-grids"), "l_incidents": N_("Incidents"), "l_workers": N_("Grid workers"),
    "on_shift": N_("on shift"), "off_shift": N_("off shift"), "open_work": N_("{n} open"),
    "new_report": N_("New report: no. {id} {category} · {grid}"),
}


def _console_config(session: Any) -> dict[str, Any]:
    """What the console shows by name: categories and their groups, grids (with their workers), statuses, steps."""
    en, lang = english(), lang_code()
    groups = [{"code": c, "name": (n_en or n) if en else n} for c, n, n_en in session.execute(
        select(CategoryGroup.code, CategoryGroup.name, CategoryGroup.name_en).order_by(CategoryGroup.position))]
    categories = [{"code": c, "name": (n_en or n) if en else n, "group": g, "urgency": u} for c, n, n_en, g, u in session.execute(
        select(Category.code, Category.name, Category.name_en, Category.group_code, Category.urgency).order_by(Category.code))]
    return {"groups": groups, "categories": categories,
            "statuses": [{"code": s, "name": name(STATUS_NAMES, s, lang)} for s in STATUSES],
            "steps": {a: name(STEP_NAMES, a, lang) for a in ("report", *STEPS)},
            "needsNote": [a for a, s in STEPS.items() if s.needs_note],
            "urgencies": [{"code": u, "name": gettext(w)} for u, w in URGENCIES.items()],
            "tiers": {t: name(TIER_NAMES, t, lang) for t in LADDER}, "open": list(OPEN), "closed": list(CLOSED)}


@pages.get("/map")
def live_map_page() -> PageAnswer | str:
    """The dispatch console: the open incidents in a queue beside the live map (boundaries, incidents, workers),
    each one's panel with every step the signed-in role may take; kept current by the live feed."""
    who = signed_in()
    cfg = current_app.config
    with database().session() as session:
        bounds = boundaries(session, cfg["PRIMARY_LAYER"])
        console = _console_config(session)
    roles = {r.code: (r.name_en if english() else r.name) for r in ROLES.values()}
    # the server's time at rendering: the page counts overdue by the server's clock, not the screen's
    console.update(now=clock.now().isoformat(), pageHeader=PAGE_HEADER, roles=roles, timezone=cfg["TIMEZONE"],
                   lang=page_lang(), role=who.role, roleName=roles.get(who.role, who.role), user=who.name)
    grids = sorted((f["properties"]["name"] or f["properties"]["code"], f["properties"]["code"]) for f in bounds["grids"]["features"])
    return render_template("command_map.html", console=console, bounds=bounds, words=CONSOLE_WORDS, grids=grids)


@pages.get("/dashboard")
def dashboard() -> PageAnswer:
    """The measures per grid, community or street for a month (or any period), with the definitions and exports."""
    who = signed_in()
    context, status = dashboard_context(database(), current_app.config, who, request.args)
    return render_template("dashboard.html", **context), status


@pages.get("/screen")
def screen() -> PageAnswer | str:
    """The big screen (大屏) for a wall of the command centre: live counts, the map, today's flow through the loop,
    the best and worst grids; kept current by the live feed."""
    who = signed_in()
    context, status = screen_context(database(), current_app.config, who, request.args)
    return render_template("screen.html", **context), status
