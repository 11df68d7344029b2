"""The planner's page."""

from __future__ import annotations

from flask import current_app, render_template

from gridops.planning.community import communities
from gridops.web.pages.base import PageAnswer, pages, signed_in
from gridops.web.request import PAGE_HEADER, database


@pages.get("/plan")
def plan_page() -> PageAnswer | str:
    """The planner's page: a draft over the grids in force, coloured by households; metrics, checks, edits, impact."""
    who = signed_in()
    with database().session() as s:
        options = communities(s, current_app.config["PRIMARY_LAYER"])
    return render_template("plan.html", who=who, page_header=PAGE_HEADER, communities=options,
                           tile_url=current_app.config["TILE_URL"] or "")
