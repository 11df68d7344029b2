"""What is loaded: the figures the landing page opens with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridops.boundaries.areas import version_in_force
from gridops.core.models import Area, AreaLevel, Building, Household, Incident, Layer, Worker
from gridops.incidents.loop import OPEN


def overview(session: Session, primary_layer: str) -> dict[str, Any]:
    version = version_in_force(session, primary_layer)
    levels: list[dict[str, Any]] = []
    if version is not None:
        rows = session.execute(
            select(AreaLevel.code, AreaLevel.name, AreaLevel.name_en, func.count(Area.id), func.sum(Area.households))
            .join(Area, Area.level == AreaLevel.code)
            .where(Area.version_id == version.id)
            .group_by(AreaLevel.code, AreaLevel.name, AreaLevel.name_en, AreaLevel.depth)
            .order_by(AreaLevel.depth)
        ).all()
        levels = [
            {"level": code, "name": name, "name_en": name_en, "count": count, "households": int(hh or 0)}
            for code, name, name_en, count, hh in rows
        ]
    return {
        "layers": list(session.scalars(select(Layer.code).order_by(Layer.code))),
        "version": None if version is None else {"number": version.number, "effective_from": version.effective_from},
        "levels": levels,
        "buildings": session.scalar(select(func.count(Building.id))) or 0,
        "households": session.scalar(select(func.count(Household.id))) or 0,
        "workers": session.scalar(select(func.count(Worker.id)).where(Worker.active.is_(True))) or 0,
        "incidents": session.scalar(select(func.count(Incident.id))) or 0,
        "open_incidents": session.scalar(select(func.count(Incident.id)).where(Incident.status.in_(OPEN))) or 0,
    }
