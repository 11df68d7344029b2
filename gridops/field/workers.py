"""Workers on the map: where each was last seen, whether on shift, how much open work they hold."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridops.access.policy import SEE_WORKERS, Forbidden, Principal, role_term
from gridops.core import clock
from gridops.core.models import Assignment, Incident, Worker
from gridops.core.shapes import to_point
from gridops.core.words import Say
from gridops.incidents.loop import OPEN
from gridops.reference.data import References


def worker_positions(session: Session, principal: Principal | None, tz: str, references: References | None = None) -> dict[str, Any]:
    """A FeatureCollection of active workers with a known position (leaders: those on their ground)."""
    if principal is not None and not principal.can(SEE_WORKERS):
        raise Forbidden(Say("a %(role)s does not see where workers are.", role=role_term(principal.role)))
    now = clock.now()
    ref = (references or References()).current(session)
    open_work = dict(session.execute(select(Incident.assignee_id, func.count()).where(Incident.status.in_(OPEN))
                                     .group_by(Incident.assignee_id)).all())
    areas: dict[int, list[str]] = {}
    for wid, code in session.execute(select(Assignment.worker_id, Assignment.area_code).where(Assignment.valid_to.is_(None))):
        areas.setdefault(wid, []).append(code)
    rows = session.execute(select(Worker).where(Worker.active.is_(True), Worker.last_position.is_not(None)).order_by(Worker.code)).scalars()
    on = ref.on_shift(list(ref.workers), now, tz)
    features = []
    for w in rows:
        mine = areas.get(w.id, [])
        if principal is not None and not principal.is_staff and not any(principal.covers(a) for a in mine):
            continue
        assert w.last_position is not None  # the query above asks for workers with a position
        p = to_point(w.last_position)
        features.append({"type": "Feature", "id": w.code, "geometry": {"type": "Point", "coordinates": [round(p.x, 7), round(p.y, 7)]},
                         "properties": {"code": w.code, "name": w.name, "role": w.role, "areas": sorted(mine),
                                        "on_shift": w.id in on, "open_work": int(open_work.get(w.id, 0)),
                                        "last_seen_at": w.last_seen_at.isoformat() if w.last_seen_at else None}})
    return {"type": "FeatureCollection", "features": features}
