"""Plan drafts: a planner's proposal for one community, kept as the grid and micro-grid of
every building (the boundaries follow from the buildings' cells, gridops.geo.plan),
generated, rebalanced or copied from the grids in force; read, listed, discarded; and
answered with its checks and its impact."""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.plan import Plan, PlanArea, adopt_unplaced
from gridops.geo.planchecks import plan_checks
from gridops.geo.planedits import fresh_code

from gridops.access.policy import Principal
from gridops.core import clock
from gridops.core.errors import Conflict, InvalidParameter, NotFound
from gridops.core.models import BoundaryVersion, Building, Layer, PlanDraft
from gridops.core.words import Say
from gridops.planning.community import Community, Settings, load_community
from gridops.planning.impact import impact


def plan_json(plan: Plan) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    return {u: list(v) for u, v in plan.assignment.items()}, plan.metrics, plan.problems


def create_draft(session: Session, principal: Principal | None, layer: str, community: str, method: str = "generate", *,
                 grid: tuple[int | None, int | None] = (None, None), micro: tuple[int | None, int | None] = (None, None)
                 ) -> dict[str, Any]:
    """A new draft for a community: generated afresh, rebalanced from the grids in force, or a copy of them to edit."""
    if method not in ("generate", "rebalance", "copy"):
        raise InvalidParameter("method", Say("method is generate, rebalance or copy; got %(method)r.", method=method))
    settings = Settings.of(session, grid, micro)
    com = load_community(session, layer, community)
    if method == "generate":
        plan = com.ground.generate(settings.grid, settings.micro, community, previous=com.published, digits=settings.digits)
    elif method == "rebalance":
        if not com.published:
            raise InvalidParameter("method", Say("community %(community)s has no grids in force to rebalance; generate "
                                                 "instead.",
                                                 community=community))
        plan = com.ground.rebalance(com.published, settings.grid, settings.micro, community, digits=settings.digits)
    else:
        if not com.published:
            raise InvalidParameter("method", Say("community %(community)s has no grids in force to copy; generate instead.",
                                                 community=community))
        plan = evaluate(com, {u: g for u, (g, _) in com.published.items()}, settings)
    assignment, metrics, problems = plan_json(plan)
    now = clock.now()
    layer_id = session.scalar(select(Layer.id).where(Layer.code == layer))
    draft = PlanDraft(layer_id=layer_id, community_code=community, base_version_id=com.version_id, status="draft",
                      method=method, settings=settings.as_json(), assignment=assignment, metrics=metrics, problems=problems,
                      created_by=principal.name if principal else "cli", created_at=now, updated_at=now)
    session.add(draft)
    session.flush()
    return answer(session, draft, com, plan, settings)


def complete(com: Community, grid_of: dict[str, str], settings: Settings) -> dict[str, str]:
    """Every building's grid: buildings new since the grids were drawn join the grid beside them."""
    if all(c in grid_of for c in com.ground.codes):
        return dict(grid_of)
    labels = com.ground.labels_of(grid_of)
    names = sorted(set(grid_of.values()))
    adopted = adopt_unplaced(com.ground.graph, labels)
    extra = fresh_code(com.code, set(names) | {g for g, _ in com.published.values()}, settings.digits[0])  # ground no grid touches
    return {c: (names[adopted[k]] if adopted[k] < len(names) else extra) for k, c in enumerate(com.ground.codes)}


def evaluate(com: Community, grid_of: dict[str, str], settings: Settings, micro_of: dict[str, tuple[str, str]] | None = None) -> Plan:
    """The plan of an assignment, scored, with grid statuses and retired codes against the version in force.

    Grids unchanged against `micro_of` (the draft) keep its micro-grids."""
    previous = micro_of if micro_of is not None else com.published
    plan = com.ground.evaluate(complete(com, grid_of, settings), settings.grid, settings.micro, com.code,
                               previous=previous, digits=settings.digits)
    if micro_of is not None:
        for area in plan.grids:
            area.status = _status_against(area, com.published)
        plan.retired = sorted({g for g, _ in com.published.values()} - {a.code for a in plan.grids})
    return plan


def draft_row(session: Session, draft_id: int, *, editable: bool = False) -> PlanDraft:
    draft = session.get(PlanDraft, draft_id)
    if draft is None:
        raise NotFound(Say("no plan draft %(draft_id)s.", draft_id=draft_id))
    if editable and draft.status != "draft":
        raise Conflict(Say("plan draft %(draft_id)s is %(status)s; make a new draft to change it.",
                           draft_id=draft_id, status=draft.status))
    return draft


def layer_code(session: Session, draft: PlanDraft) -> str:
    code = session.scalar(select(Layer.code).where(Layer.id == draft.layer_id))
    assert code is not None  # draft.layer_id is a NOT NULL foreign key
    return code


def current(session: Session, draft: PlanDraft) -> tuple[Community, Plan, Settings]:
    com = load_community(session, layer_code(session, draft), draft.community_code)
    settings = Settings.from_json(draft.settings)
    plan = evaluate(com, grids_of(draft), settings, micro_of(draft))
    return com, plan, settings


def grids_of(draft: PlanDraft) -> dict[str, str]:
    return {u: v[0] for u, v in draft.assignment.items()}


def micro_of(draft: PlanDraft) -> dict[str, tuple[str, str]]:
    return {u: (v[0], v[1]) for u, v in draft.assignment.items()}


def _status_against(area: PlanArea, published: dict[str, tuple[str, str]]) -> str:
    before = {u for u, (g, _) in published.items() if g == area.code}
    if not before:
        return "new"
    return "unchanged" if before == set(area.units) else "changed"


def get_draft(session: Session, draft_id: int) -> dict[str, Any]:
    draft = draft_row(session, draft_id)
    com, plan, settings = current(session, draft)
    return answer(session, draft, com, plan, settings)


def list_drafts(session: Session, community: str | None = None) -> list[dict[str, Any]]:
    stmt = select(PlanDraft).order_by(PlanDraft.id.desc())
    if community:
        stmt = stmt.where(PlanDraft.community_code == community)
    return [_summary(d) for d in session.scalars(stmt.limit(200))]


def _summary(draft: PlanDraft) -> dict[str, Any]:
    return {
        "id": draft.id, "community": draft.community_code, "status": draft.status, "method": draft.method,
        "revision": draft.revision, "settings": draft.settings, "metrics": draft.metrics or {},
        "created_by": draft.created_by, "created_at": draft.created_at.isoformat(), "updated_at": draft.updated_at.isoformat(),
        "published_version": draft.published_version_id,
    }


def draft_geojson(session: Session, draft_id: int, which: str = "draft") -> dict[str, Any]:
    """The draft's grids and micro-grids, or the version in force's over the same community (for the diff map)."""
    draft = draft_row(session, draft_id)
    com = load_community(session, layer_code(session, draft), draft.community_code)
    settings = Settings.from_json(draft.settings)
    if which == "draft":
        doc = evaluate(com, grids_of(draft), settings, micro_of(draft)).geojson()
        for f in doc["features"]:
            f["properties"]["name"] = com.name_of(f["properties"]["code"])
        return doc
    if which == "published":
        hh: dict[str, int] = {}
        for u, (g, _) in com.published.items():
            hh[g] = hh.get(g, 0) + com.ground.units[com.ground.position[u]].households
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": shapely.geometry.mapping(geom),
             "properties": {"code": code, "name": com.name_of(code), "level": "grid", "households": hh.get(code, 0)}}
            for code, geom in sorted(com.grid_geoms.items())]}
    if which == "buildings":  # the draft's own assignment: no need to draw its boundaries
        grid_of = complete(com, grids_of(draft), settings)
        micro = micro_of(draft)
        said = {code: (name, address) for code, name, address in session.execute(
            select(Building.code, Building.name, Building.address).where(Building.id.in_(list(com.building_ids.values()))))}
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": shapely.geometry.mapping(shapely.point_on_surface(u.geometry)),
             "properties": {"code": u.code, "level": "building", "households": u.households,
                            "name": said.get(u.code, (None, None))[0], "address": said.get(u.code, (None, None))[1],
                            "grid": grid_of[u.code], "grid_name": com.name_of(grid_of[u.code]),
                            "micro_grid": micro.get(u.code, (None, ""))[1]}}
            for u in com.ground.units]}
    raise InvalidParameter("which", Say("which is draft, published or buildings; got %(which)r.", which=which))


def answer(session: Session, draft: PlanDraft, com: Community, plan: Plan, settings: Settings,
            checks: list[dict[str, Any]] | None = None, effect: dict[str, Any] | None = None) -> dict[str, Any]:
    """The draft as the planner sees it; `checks` and `effect` when the caller has them already."""
    out = _summary(draft)
    out["metrics"] = plan.metrics
    out["checks"] = checks_of(com, plan, settings) if checks is None else checks
    out["impact"] = impact(session, com, plan, settings.digits[0]) if effect is None else effect
    out["grids"] = [{"code": a.code, "name": com.name_of(a.code), "households": a.households, "buildings": len(a.units),
                     "micro_grids": sum(m.parent_code == a.code for m in plan.micro_grids),
                     "polsby_popper": round(a.polsby_popper, 3), "contiguous": a.contiguous,
                     "within_bounds": a.within_bounds, "status": a.status,
                     **({"street_share": round(a.street_share, 3)} if a.street_share is not None else {})}
                    for a in plan.grids]
    out["community_name"] = com.name
    made = session.get(BoundaryVersion, draft.published_version_id) if draft.published_version_id else None
    if made is not None:  # a draft published before: which version it became, from when (the page says so on reopening)
        out.setdefault("published", {"layer": layer_code(session, draft), "version": made.number,
                                     "effective_from": made.effective_from.isoformat()})
    # every grid the page may name: the plan's and those it retires (a person reads names, never codes)
    out["names"] = {code: com.name_of(code) for code in sorted({a.code for a in plan.grids} | set(com.grid_geoms))}
    return out


def discard_draft(session: Session, draft_id: int) -> dict[str, Any]:
    draft = draft_row(session, draft_id, editable=True)
    draft.status = "discarded"
    draft.updated_at = clock.now()
    session.flush()
    return _summary(draft)


def checks_of(com: Community, plan: Plan, settings: Settings) -> list[dict[str, Any]]:
    """The findings a planner must see (gridops.geo.planchecks)."""
    return plan_checks(plan, settings.grid, com.polygon, com.code, com.ground.proj)
