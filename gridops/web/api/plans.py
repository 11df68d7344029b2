"""Planners' drafts of a community's grids: generate, rebalance, edit, check, publish."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app

from gridops.planning.drafts import create_draft, discard_draft, draft_geojson, get_draft, list_drafts
from gridops.planning.edits import edit_draft
from gridops.planning.publish import publish_draft
from gridops.registers import people
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.plans import PlanArgs, PlanCreate, PlanEdit, PlanGeoArgs, PlanList, PlanPublish, PlanView
from gridops.web.context import use_case_context
from gridops.web.request import caller, database

bp = Blueprint("plans", __name__, description="Planners: regenerate, edit, check and publish grid boundaries")


@bp.get("/plans")
@bp.arguments(PlanArgs(), location="query", as_kwargs=True)
@bp.response(200, PlanList)
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role does not see plans")
def drafts(**args: Any) -> dict[str, Any]:
    """The drafts, newest first."""
    caller()
    with database().session() as session:
        return {"drafts": list_drafts(session, args.get("community"))}


@bp.post("/plans")
@bp.arguments(PlanCreate(), location="json")
@bp.response(201, PlanView)
@problem_response(bp, 400, "a field is missing or malformed, or the community cannot be planned")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "only planners draw plans")
@problem_response(bp, 404, "no such community in the version in force")
def create(body: dict[str, Any]) -> dict[str, Any]:
    """A new draft for a community, generated, rebalanced or copied from the grids in force; checked, with its impact."""
    who = caller()
    with database().session() as session:
        return create_draft(session, who, current_app.config["PRIMARY_LAYER"], body["community"], body["method"],
                            grid=(body.get("grid_households_min"), body.get("grid_households_max")),
                            micro=(body.get("micro_households_min"), body.get("micro_households_max")))


@bp.get("/plans/<int:draft_id>")
@bp.response(200, PlanView)
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role does not see plans")
@problem_response(bp, 404, "no such draft")
def show(draft_id: int) -> dict[str, Any]:
    """One draft: its grids and metrics, the checks and the impact against the version in force."""
    caller()
    with database().session() as session:
        return get_draft(session, draft_id)


@bp.get("/plans/<int:draft_id>/geojson")
@bp.arguments(PlanGeoArgs(), location="query", as_kwargs=True)
@bp.response(200, description="a GeoJSON FeatureCollection", content_type="application/geo+json")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role does not see plans")
@problem_response(bp, 404, "no such draft")
def geojson(draft_id: int, which: str) -> Response:
    """The draft's grids and micro-grids (which=draft), the version in force over the same community (which=published),
    or the buildings with the grid the draft gives them (which=buildings)."""
    caller()
    with database().session() as session:
        doc = draft_geojson(session, draft_id, which)
    return Response(json.dumps(doc, ensure_ascii=False), mimetype="application/geo+json")


@bp.post("/plans/<int:draft_id>/edits")
@bp.arguments(PlanEdit(), location="json")
@bp.response(200, PlanView)
@problem_response(bp, 400, "the edit names what is not in the draft, or is malformed")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "only planners edit plans")
@problem_response(bp, 404, "no such draft")
@problem_response(bp, 409, "the draft is published or discarded, or moved on since `revision`")
def edit(body: dict[str, Any], draft_id: int) -> dict[str, Any]:
    """Move buildings, split, merge or redraw by hand; the answer is the draft re-checked, with its impact."""
    who = caller()
    with database().session() as session:
        return edit_draft(session, draft_id, body, who)


@bp.post("/plans/<int:draft_id>/publish")
@bp.arguments(PlanPublish(), location="json")
@bp.response(200, PlanView)
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "only planners publish plans")
@problem_response(bp, 404, "no such draft")
@problem_response(bp, 409, "grids would be left with nobody answering for them and neither `workers` nor `accept_uncovered` "
                          "names them (`report.uncovered`; type /problems/grids-uncovered), the draft is not a draft any "
                          "more, the version in force changed under it, or a version scheduled later would undo it "
                          "(`scheduled` names it; send supersede)")
@problem_response(bp, 422, "the boundaries have errors, findings without accept_warnings, or `workers`/`accept_uncovered` "
                          "name a grid not of the plan or a worker who is unknown or inactive; nothing was published")
def publish(body: dict[str, Any], draft_id: int) -> dict[str, Any]:
    """The draft becomes the next boundary version from `effective_from`: open incidents stay with their assignee,
    patrol visits move with their doors, workers of retired grids stop answering for them."""
    who = caller()
    ctx = use_case_context(current_app)
    with database().session() as session:
        staffing = people.Staffing(session, ctx, who, f"plan draft {draft_id} published")
        return publish_draft(session, ctx, draft_id, who, body.get("effective_from"), body["accept_warnings"], body["supersede"],
                             accept_uncovered=body["accept_uncovered"], workers=body["workers"], staffing=staffing)


@bp.delete("/plans/<int:draft_id>")
@bp.response(200, PlanList)
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "only planners discard plans")
@problem_response(bp, 404, "no such draft")
@problem_response(bp, 409, "the draft is published")
def discard(draft_id: int) -> dict[str, Any]:
    """Discard a draft (it stays listed, as discarded)."""
    caller()
    with database().session() as session:
        return {"drafts": [discard_draft(session, draft_id)]}
