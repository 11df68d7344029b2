"""Hidden risks as JSON (the figures the risk map draws), and patrols ordered from a hot spot (派发巡查)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import get_locale, gettext

from gridops.analytics.risk import parse_risk_args
from gridops.analytics.spots import order_spot_patrols, risk_document
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.risk import PatrolOrderBody, PatrolOrderDone, Risk, RiskArgs
from gridops.web.context import use_case_context
from gridops.web.request import caller, database

bp = Blueprint("risk", __name__, description="Hidden risks: Gi* hot spots, emerging classes, rates; patrols ordered from them")

_PARTS = {"cells": ("cells",), "grids": ("grids",), "spots": ("hot_spots",)}


@bp.get("/risk")
@bp.arguments(RiskArgs(), location="query", as_kwargs=True)
@bp.response(200, Risk)
@problem_response(bp, 400, "a parameter is invalid (the field is named)")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role does not watch the ground")
@problem_response(bp, 404, "no such area")
def risk(**args: Any) -> dict[str, Any]:
    """The figures of the hidden-risk map for a category, an area and a window (whole local days; a day alone as
    `until` includes that day): per H3 cell and per grid the incidents, the rate per 1,000 households, Gi* z and
    its FDR-corrected bin, the emerging hot-spot class; the hot spots named by grid and community with a sentence
    in the reader's language, the micro-grids a patrol would cover and whether it cooled since patrols began."""
    caller()
    cfg = current_app.config
    view = args.pop("view", "all")
    q = parse_risk_args({k: str(v) for k, v in args.items() if v is not None}, cfg["TIMEZONE"], cfg["PRIMARY_LAYER"])
    lang = "en" if str(get_locale()) == "en" else "zh"
    with database().session() as session:
        doc = risk_document(session, q, cfg["TIMEZONE"], gettext, lang)
    doc.pop("_shapes")
    if view != "all":
        for part in ("cells", "grids", "hot_spots"):
            if part not in _PARTS[view]:
                doc.pop(part)
    return doc


@bp.post("/risk/patrols")
@bp.arguments(PatrolOrderBody(), location="json")
@bp.response(201, PatrolOrderDone)
@problem_response(bp, 400, "no cells, cells not at `res`, or cells that cover no micro-grid")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role orders no patrols, or these micro-grids are not on your ground")
def order_patrols(body: dict[str, Any]) -> dict[str, Any]:
    """派发巡查: a patrol task for the worker of each micro-grid the hot spot's cells cover, with the category's
    checklist, due by the end of the third day; each worker is told. The order is kept (who, when, where), and the
    risk map shows from it whether the spot cooled."""
    who = caller()
    with database().session() as session:
        return order_spot_patrols(session, use_case_context(current_app), who, category=body.get("category") or None,
                                  res=body["res"], cells=body["cells"], note=body.get("note"))
