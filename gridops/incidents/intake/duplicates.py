"""Is it already reported? Open incidents of the same category within the category's radius
and time window — stored ones, and those reported earlier in the same batch — nearest first.

One query finds the stored candidates of a whole batch (each report's category,
window and box, through the spatial index), and one matcher serves both kinds of
candidate, so a report is decided the same whether its twin came a minute ago
or in the same batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID, distances_m

from gridops.core.models import Incident
from gridops.core.shapes import to_point
from gridops.incidents.loop import OPEN
from gridops.reference.data import CategoryRef


@dataclass(frozen=True)
class Candidate:
    """An open incident a new report may duplicate, with what a merge into it inherits.

    `id` is None for a report of the same batch, not yet stored: `ref` is then its place in the batch."""

    id: int | None
    category: str
    reported_at: datetime
    lon: float
    lat: float
    assignee_id: int | None
    tier: str
    department_code: str | None
    due_at: datetime
    ref: int | None = None


@dataclass(frozen=True)
class Wanted:
    """One report looking for its twins."""

    category: CategoryRef
    lon: float
    lat: float


def searches(category: CategoryRef) -> bool:
    return bool(category.dedupe_radius_m and category.dedupe_window_hours)


def _box(lon: float, lat: float, radius_m: float) -> str:
    pad = radius_m / 90_000.0  # degrees, generously: a prefilter, the metres come next
    return (f"POLYGON(({lon - pad} {lat - pad},{lon + pad} {lat - pad},{lon + pad} {lat + pad},"
            f"{lon - pad} {lat + pad},{lon - pad} {lat - pad}))")


def stored_nearby(session: Session, wanted: list[Wanted], now: datetime) -> list[Candidate]:
    """The stored open incidents any of these reports may duplicate: one query for the batch."""
    wanted = [w for w in wanted if searches(w.category)]
    if not wanted:
        return []
    terms = [
        and_(Incident.category_code == w.category.code,
             Incident.reported_at >= now - timedelta(hours=w.category.dedupe_window_hours or 0),
             func.ST_Intersects(Incident.location,
                                func.ST_GeomFromText(_box(w.lon, w.lat, w.category.dedupe_radius_m or 0), STORAGE_SRID)))
        for w in wanted
    ]
    rows = session.execute(
        select(Incident.id, Incident.category_code, Incident.reported_at, Incident.location, Incident.assignee_id, Incident.tier,
               Incident.department_code, Incident.due_at)
        .where(Incident.status.in_(OPEN), Incident.merged_into_id.is_(None), or_(*terms))
    ).all()
    found = []
    for iid, cat, reported, location, assignee, tier, dept, due in rows:
        point = to_point(location)
        found.append(Candidate(iid, cat, reported, point.x, point.y, assignee, tier, dept, due))
    return found


def matches(candidates: list[Candidate], category: CategoryRef, lon: float, lat: float,
            now: datetime) -> list[tuple[float, Candidate]]:
    """The candidates this report duplicates, nearest first (a stored incident before a batch twin as far away)."""
    if not searches(category):
        return []
    since = now - timedelta(hours=category.dedupe_window_hours or 0)
    same = [c for c in candidates if c.category == category.code and c.reported_at >= since]
    if not same:
        return []
    dist = distances_m(lon, lat, [c.lon for c in same], [c.lat for c in same])
    found = [(float(d), c) for c, d in zip(same, dist, strict=True) if d <= (category.dedupe_radius_m or 0)]
    return sorted(found, key=lambda dc: (dc[0], dc[1].id is None, dc[1].id or 0, dc[1].ref or 0))


def shown(found: list[tuple[float, Candidate]]) -> list[dict[str, Any]]:
    """The stored duplicates as an answer lists them."""
    return [{"id": c.id, "distance_m": round(d, 1), "reported_at": c.reported_at.isoformat()} for d, c in found if c.id is not None]
