"""The command centre's pages: the live map and the measures (the hidden-risk map: gridops.web.pages.risk)."""

from __future__ import annotations

from flask import current_app, render_template, request

from gridops.web.headers import with_nonce
from gridops.web.i18n import lang_code
from gridops.web.pages.base import PageAnswer, pages, signed_in
from gridops.web.pages.dashboard import dashboard_context, screen_context
from gridops.web.request import database


@pages.get("/map")
def live_map_page() -> PageAnswer | str:
    """The live map: boundaries, open incidents (clustered, coloured by status and urgency), workers; live."""
    who = signed_in()
    from gridops.analytics.mapping import live_page_html  # folium: ~1 s to import, needed only by the map pages

    return with_nonce(live_page_html(database(), current_app.config, who, lang=lang_code()))


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
