"""The planner's page (/plan): Chinese first, English by choice; grids by name, times in the city's zone."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import get_locale

from gridops.access.policy import ROLES
from gridops.planning.community import communities
from gridops.web.i18n import N_
from gridops.web.pages.base import PageAnswer, pages, signed_in
from gridops.web.request import PAGE_HEADER, database

# the words /static/plan.js shows (gridopsT(key, {…})), in the catalogues like every page string
PLAN_STRINGS = {
    "help_move": N_("Click buildings (several if you like), then the grid they go to."),
    "help_split": N_("Click the grid to split."),
    "help_merge": N_("Click two neighbouring grids: the second joins the first."),
    "help_redraw": N_("Click the grid, then its new boundary's corners on the map, then Apply."),
    "picked_buildings": N_("{n} building(s) selected: now click the grid they go to."),
    "merge_next": N_("{grid}: now click the grid that joins it."),
    "redraw_next": N_("{grid}: click the new boundary's corners, then Apply."),
    "redraw_short": N_("Pick the grid and draw at least three corners."),
    "checking": N_("Checking"),
    "generating": N_("Generating"),
    "rebalancing": N_("Rebalancing"),
    "copying": N_("Copying"),
    "loading": N_("Loading"),
    "publishing": N_("Publishing"),
    "pick_community": N_("Pick a community and generate a draft."),
    "draft_line": N_("Draft #{id} · {method} · {status} · revision {revision} · {grids} grids"),
    "draft_status": N_("Draft #{id} · {status} · revision {revision}"),
    "published_status": N_("Published as version {version}, in force from {when}."),
    "method_generate": N_("generated"),
    "method_rebalance": N_("rebalanced"),
    "method_copy": N_("copy of the grids in force"),
    "status_draft": N_("draft"),
    "status_published": N_("published"),
    "status_discarded": N_("discarded"),
    "grid_unchanged": N_("unchanged"),
    "grid_changed": N_("changed"),
    "grid_new": N_("new"),
    "duty_primary": N_("grid worker"),
    "duty_backup": N_("backup"),
    "duty_leader": N_("grid leader"),
    "m_grids": N_("Grids"),
    "m_grids_value": N_("{n} (bounds {lo}–{hi} households)"),
    "m_within": N_("Within bounds"),
    "m_contiguous": N_("In one piece"),
    "m_compact": N_("Mean compactness (Polsby-Popper)"),
    "m_streets": N_("Boundary along streets"),
    "m_households": N_("Households per grid"),
    "m_micro": N_("Micro-grids"),
    "m_micro_value": N_("{n} ({share} within {lo}–{hi} households)"),
    "checks_none": N_("(0: all pass)"),
    "check_households_under": N_("{grid} holds {households} households, under the {lo}–{hi} bounds."),
    "check_households_over": N_("{grid} holds {households} households, over the {lo}–{hi} bounds."),
    "check_not_contiguous": N_("{grid} falls into {pieces} separate pieces."),
    "check_not_compact": N_("{grid} is stretched or ragged (Polsby-Popper {pp}; a square is 0.79)."),
    "check_overlap": N_("{grid} and {other} overlap by {area} m²."),
    "check_gap": N_("A gap of {area} m² inside the community is in no grid."),
    "check_micro_overlap": N_("Micro-grids of {grid} overlap by {area} m² (micro-grids must tile their grid)."),
    "check_micro_gap": N_("Micro-grids of {grid} leave a gap of {area} m² (micro-grids must tile their grid)."),
    "check_over_unit": N_("One building holds {households} households, more than a grid may: it is a grid by itself."),
    "check_island": N_("Ground cut off from the rest holds {households} households, too few for a grid: it is kept as one."),
    "check_no_count": N_("{households} households no number of grids within bounds can share."),
    "check_other": N_("A finding of the checks ({kind})."),
    "impact_households": N_("Households changing grid: {n} ({share} keep theirs)"),
    "impact_grids": N_("Grids: {unchanged} unchanged, {changed} changed, {new} new, {retired} retired"),
    "impact_workers": N_("Workers affected: {n}"),
    "impact_uncovered": N_("Grids with nobody answering for them: {grids}"),
    "impact_incidents": N_("Open incidents changing grid: {n} (they stay with their assignee)"),
    "impact_visits": N_("Patrol visits changing grid: {n}"),
    "impact_retired": N_("{name} ({duty}) answers for {area}, which the plan retires: assign them anew."),
    "impact_redrawn": N_("{name} ({duty}) keeps {area}, whose ground changes."),
    "move_line": N_("{from} → {to}: {households} households ({buildings} buildings)"),
    "grid_popup_counts": N_("{households} households · {buildings} buildings · {micro} micro-grids"),
    "grid_popup_shape": N_("Compactness {pp} · {status}"),
    "building_popup_households": N_("{n} households"),
    "building_popup_grid": N_("Grid: {grid}"),
    "building_unnamed": N_("Building {code}"),
    "layer_in_force": N_("Grids in force"),
    "layer_draft": N_("Draft grids"),
    "layer_micro": N_("Micro-grids"),
    "layer_buildings": N_("Buildings"),
    "households_short": N_("{n} hh"),
    "publish_title": N_("Publish draft #{id} of {community}"),
    "publish_when": N_("In force from {when} ({tz})."),
    "publish_findings": N_("The checks found {n} problem(s):"),
    "publish_findings_more": N_("… and {n} more"),
    "publish_uncovered_none": N_("Every grid of the plan has somebody answering for it."),
    "publish_uncovered": N_("{n} grid(s) would have nobody answering for them: choose a worker for each, or accept it "
                            "as uncovered (its reports then go to the community admin)."),
    "publish_moves_none": N_("No household changes grid."),
    "publish_moves": N_("{n} households change grid:"),
    "publish_moves_more": N_("… and {n} more moves"),
    "publish_pick": N_("— choose a worker —"),
    "accept_uncovered_label": N_("accept it uncovered"),
    "publish_worker_option": N_("{name} · {role} · {where}"),
    "publish_worker_free": N_("answers for no grid yet"),
    "publish_still_open": N_("Choose a worker or accept it as uncovered for every grid, and acknowledge the findings."),
    "publish_refreshed": N_("The grids without anybody changed meanwhile: the list is up to date, choose again."),
    "no_workers": N_("No active grid worker to choose from."),
}


@pages.get("/plan")
def plan_page() -> PageAnswer | str:
    """The planner's page: a draft over the grids in force, coloured by households; metrics, checks, edits, impact."""
    who = signed_in()
    role = ROLES.get(who.role)
    english = str(get_locale()) == "en"
    role_name = (role.name_en if english else role.name) if role else who.role
    with database().session() as s:
        options = communities(s, current_app.config["PRIMARY_LAYER"])
    config = {"pageHeader": PAGE_HEADER, "timezone": current_app.config["TIMEZONE"], "lang": "en" if english else "zh"}
    return render_template("plan.html", who=who, role_name=role_name, config_json=config, communities=options,
                           strings=PLAN_STRINGS)
