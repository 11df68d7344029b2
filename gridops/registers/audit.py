"""The audit trail of reference data: who changed what, when, from what to what.

Every application function that changes a worker, an assignment, a calendar day or another
register writes its row here in the same transaction as the change, so a change and its record
commit or fail together; the table refuses UPDATE and DELETE (migration 0017).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.access.policy import Principal
from gridops.core import clock
from gridops.core.models import ReferenceChange

SYSTEM = "system"


def label_of(actor: Principal | None) -> str:
    return SYSTEM if actor is None else f"{actor.role}:{actor.name}"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record_change(session: Session, actor: Principal | None, kind: str, key: str, action: str,
                  before: dict[str, Any] | None, after: dict[str, Any] | None, *, note: str | None = None,
                  at: datetime | None = None, keep: tuple[str, ...] = ()) -> ReferenceChange:
    """One row of the trail, in the caller's transaction (fields that did not change are left out of both sides,
    but those in `keep`, which say what the change was about: the day of a rota change)."""
    if before is not None and after is not None:
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k) or k in keep}
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    row = ReferenceChange(at=at or clock.now(), actor_user_id=actor.user_id if actor else None, actor_label=label_of(actor),
                          kind=kind, key=str(key), action=action, before=_plain(before), after=_plain(after), note=note)
    session.add(row)
    return row


@dataclass(frozen=True)
class ChangeQuery:
    kind: str | None = None
    key: str | None = None
    actor_user_id: int | None = None
    limit: int = 200
    before_id: int | None = None  # older than this row (the next page)


def changes(session: Session, q: ChangeQuery) -> list[dict[str, Any]]:
    """The trail, newest first: of one object (kind and key), of one kind, or of one person's changes."""
    stmt = select(ReferenceChange).order_by(ReferenceChange.id.desc()).limit(q.limit)
    if q.kind:
        stmt = stmt.where(ReferenceChange.kind == q.kind)
    if q.key:
        stmt = stmt.where(ReferenceChange.key == q.key)
    if q.actor_user_id is not None:
        stmt = stmt.where(ReferenceChange.actor_user_id == q.actor_user_id)
    if q.before_id is not None:
        stmt = stmt.where(ReferenceChange.id < q.before_id)
    return [{"id": r.id, "at": r.at.isoformat(), "actor": r.actor_label, "actor_user_id": r.actor_user_id, "kind": r.kind,
             "key": r.key, "action": r.action, "before": r.before, "after": r.after, "note": r.note}
            for r in session.scalars(stmt)]
