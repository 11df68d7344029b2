"""What the loop's rules need to know of an incident beyond its own row: whether a resident's report
was merged into it (they follow it to the end), and who resolved it (they may not verify or close it)."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from gridops.access.policy import OWN, Principal
from gridops.core.models import Category, Incident, IncidentEvent


def joined(session: Session, incident_id: int, principal: Principal | None) -> bool:
    """Did this resident report something that was merged into the incident?"""
    if principal is None or principal.policy.sees != OWN:
        return False
    merged = aliased(Incident)
    return bool(session.scalar(select(exists().where(
        merged.merged_into_id == incident_id, merged.status == "merged", merged.reporter_user_id == principal.user_id))))


def resolver(session: Session, incident: Incident) -> int | None:
    """The worker whose resolution waits to be verified and closed, when the category wants other eyes
    for that (Category.separate_verifier); None when anyone may."""
    if incident.status not in ("resolved", "verified"):
        return None
    separate = session.scalar(select(Category.separate_verifier).where(Category.code == incident.category_code))
    if not separate:
        return None
    found: int | None = session.scalar(
        select(IncidentEvent.actor_id).where(IncidentEvent.incident_id == incident.id, IncidentEvent.action == "resolve")
        .order_by(IncidentEvent.seq.desc()).limit(1))
    return found
