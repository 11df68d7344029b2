"""The dashboard page's figures: the measures for the chosen level, area and month, ready for the template."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from gridops.access.policy import ALL, READ_MESSAGES, Principal
from gridops.analytics.stats import LEVELS, StatsQuery, month_of, stats
from gridops.core import clock
from gridops.core.db import Database
from gridops.core.errors import GridopsError
from gridops.core.timeparse import parse_month
from gridops.messages.deliveries import failed_count
from gridops.registers import calendars, people
from gridops.web.problems import describe


def _month(raw: str | None, tz: str) -> tuple[datetime, datetime, str]:
    zone = ZoneInfo(tz)
    if not raw:
        since, until = month_of(clock.now(), tz)
    else:
        since, until = month_of(parse_month(raw, tz), tz)
    return since, until, since.astimezone(zone).strftime("%Y-%m")


def _uncovered(grids: list[str], who: Principal, area: str | None) -> list[str]:
    """The grids nobody answers for, of the area shown and the ground the user sees."""
    return [g for g in grids if (not area or g.startswith(area)) and (who.policy.measures == ALL or who.covers(g))]


def dashboard_context(db: Database, cfg: Mapping[str, Any], who: Principal, args: Mapping[str, str]) -> tuple[dict[str, Any], int]:
    level = args.get("level") or "grid"
    area = (args.get("area") or "").strip() or (None if who.policy.measures == ALL else (who.areas[0] if who.areas else None))
    context: dict[str, Any] = {"levels": LEVELS, "level": level, "area": area or "", "problem": None, "result": None,
                               "uncovered": [], "missing_years": [], "failed_messages": None}
    try:
        since, until, month = _month(args.get("month"), cfg["TIMEZONE"])
        context["month"] = month
        with db.session() as session:
            result = stats(session, StatsQuery(level=level, area=area, since=since, until=until, layer=cfg["PRIMARY_LAYER"]), who,
                           cfg["TIMEZONE"])
            context.update(uncovered=_uncovered(people.uncovered_grids(session, cfg["PRIMARY_LAYER"]), who, area),
                           missing_years=calendars.missing_years(session),
                           failed_messages=failed_count(session) if who.can(READ_MESSAGES) else None)
    except GridopsError as err:
        context.update(problem=err.public_message, month=args.get("month") or "")
        return context, describe(err).status
    query = {"level": level, "since": since.astimezone(UTC).isoformat(), "until": until.astimezone(UTC).isoformat()}
    if area:
        query["area"] = area
    context.update(result=result, categories=sorted({c for r in result["rows"] for c in r["by_category"]}),
                   csv_url="/api/v1/stats?" + urlencode({**query, "format": "csv"}),
                   geojson_url="/api/v1/stats?" + urlencode({**query, "format": "geojson"}))
    return context, 200
