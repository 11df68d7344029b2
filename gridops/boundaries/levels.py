"""The area levels (levels are data: cities have four, five or six), and the rules a tree of areas is checked against."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.validate import LevelRule

from gridops.core.errors import InvalidParameter
from gridops.core.models import AreaLevel
from gridops.core.words import Say


def level_rules(session: Session) -> dict[str, LevelRule]:
    return {
        lv.code: LevelRule(lv.code, lv.depth, lv.code_digits, lv.households_min, lv.households_max)
        for lv in session.scalars(select(AreaLevel))
    }


def add_level(session: Session, code: str, name: str, depth: int, code_digits: int, *, name_en: str | None = None,
              households_min: int | None = None, households_max: int | None = None) -> AreaLevel:
    """Define a level (a new layer's own tree: police stations and beats, census blocks…)."""
    if not code.replace("_", "").isalnum():
        raise InvalidParameter("code", Say("a level code is letters, digits and _; got %(code)r.", code=code))
    if session.get(AreaLevel, code) is not None:
        raise InvalidParameter("code", Say("level %(code)r exists already.", code=code))
    taken = session.scalar(select(AreaLevel.code).where(AreaLevel.depth == depth))
    if taken:
        raise InvalidParameter("depth", Say("depth %(depth)s is level %(taken)r's; levels of one tree need distinct depths.",
                                            depth=depth, taken=taken))
    if code_digits < 1:
        raise InvalidParameter("code_digits", Say("code_digits must be at least 1."))
    level = AreaLevel(code=code, name=name, name_en=name_en or name, depth=depth, code_digits=code_digits, optional=False,
                      households_min=households_min, households_max=households_max)
    session.add(level)
    session.flush()
    return level


def list_levels(session: Session) -> list[AreaLevel]:
    return list(session.scalars(select(AreaLevel).order_by(AreaLevel.depth)))
