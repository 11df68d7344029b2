"""Editing a draft: one edit (gridops.geo.planedits) applied to the stored assignment,
re-evaluated, and saved under the draft's revision, so of two planners saving the same
revision the second gets 409, never a silent overwrite."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gridops.geo.planedits import apply_edit

from gridops.access.policy import Principal
from gridops.core import clock
from gridops.core.errors import Conflict
from gridops.core.words import Say
from gridops.planning.community import Settings, load_community
from gridops.planning.drafts import answer, complete, draft_row, evaluate, grids_of, layer_code, micro_of, plan_json


def edit_draft(session: Session, draft_id: int, edit: dict[str, Any], principal: Principal | None = None) -> dict[str, Any]:
    """Apply one edit and answer the draft as it now stands, checked, with its impact."""
    draft = draft_row(session, draft_id, editable=True)
    if edit.get("revision") is not None and int(edit["revision"]) != draft.revision:
        raise Conflict(Say("plan draft %(draft_id)s is at revision %(revision)s, not %(edit)s: someone edited it meanwhile; "
                           "reload it.",
                           draft_id=draft_id, revision=draft.revision, edit=edit['revision']))
    com = load_community(session, layer_code(session, draft), draft.community_code)
    settings = Settings.from_json(draft.settings)
    grid_of = complete(com, grids_of(draft), settings)
    taken = set(grid_of.values()) | {g for g, _ in com.published.values()}
    grid_of = apply_edit(com.ground, grid_of, edit, bounds=settings.grid, prefix=com.code, taken=taken, digits=settings.digits[0])
    edited = evaluate(com, grid_of, settings, micro_of(draft))
    draft.assignment, draft.metrics, _ = plan_json(edited)
    draft.problems = []
    draft.updated_at = clock.now()
    session.flush()  # the revision moves on here; a planner who saved first wins, the other gets 409
    return answer(session, draft, com, edited, settings)
