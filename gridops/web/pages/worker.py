"""The grid worker's phone page."""

from __future__ import annotations

from flask import current_app, render_template

from gridops.access.policy import ROLES
from gridops.web.pages.base import PageAnswer, pages, signed_in
from gridops.web.request import PAGE_HEADER


@pages.get("/worker")
def worker() -> PageAnswer | str:
    """The grid worker's phone page: tasks with due times and distances, a small map, the steps, today's visits."""
    who = signed_in()
    if who.worker_id is None:
        takers = sorted(code for code, r in ROLES.items() if r.worker is not None)
        return render_template("worker.html", who=who, not_worker=True, roles=takers), 403
    return render_template("worker.html", who=who, not_worker=False, page_header=PAGE_HEADER,
                           tile_url=current_app.config["TILE_URL"] or "")
