"""The measures per grid, community and street (格内解决率, 按期结案率, 满意率, 主动发现率 …), with exports, and what a
big screen shows now."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app

from gridops.access.policy import ALL
from gridops.analytics.stats import StatsQuery, area_named, as_geojson, levels_from, live, stats
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.stats import Live as LiveSchema
from gridops.web.api.schemas.stats import LiveArgs, Stats, StatsArgs
from gridops.web.measures import as_csv, as_xlsx, level_name, unknown_area_said
from gridops.web.request import caller, database

bp = Blueprint("stats", __name__, description="The measures the users count, per area and period")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/stats")
@bp.arguments(StatsArgs(), location="query", as_kwargs=True)
@bp.response(200, Stats)
@bp.doc(responses={"200": {"description": "the measures; format=csv, xlsx or geojson for the other forms", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Stats"}},
    "text/csv": {"schema": {"type": "string"}},  # format=csv: one row per area, UTF-8 with a BOM
    XLSX: {"schema": {"type": "string", "format": "binary"}},  # format=xlsx: a sheet per level and per team
    "application/geo+json": {"schema": {"type": "object"}}}}})  # format=geojson: the areas with their measures
@problem_response(bp, 400, "a parameter is invalid")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role does not see the measures, or not of this area")
@problem_response(bp, 404, "no area has this code")
def measures(**args: Any) -> Response | dict[str, Any]:
    """Per area for a period (default this month): incidents by category, closure, on-time closure, in-grid
    resolution, time to close, overdue, rework, satisfaction, 主动发现率, each flagged and against the previous
    period, and the rankings; the definitions come with them."""
    who = caller()
    cfg = current_app.config
    tz = cfg["TIMEZONE"]
    q = StatsQuery(level=args["level"], area=args.get("area"), since=args.get("since"), until=args.get("until"),
                   layer=cfg["PRIMARY_LAYER"])
    with database().session() as session, unknown_area_said():
        result = stats(session, q, who, tz)
        name = f"gridops-{q.area or 'all'}-{result['since'][:10]}"
        if args["format"] == "csv":
            return Response(as_csv(result), mimetype="text/csv", content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}-{q.level}.csv"'})
        if args["format"] == "xlsx":
            top = area_named(session, q.layer, q.area)["level"] if q.area else None
            levels = [result if lv == q.level else stats(session, StatsQuery(level=lv, area=q.area, since=args.get("since"),
                                                                              until=args.get("until"), layer=q.layer), who, tz)
                      for lv in levels_from(session, top)]
            title = f"{level_name(q.level)} {result['since'][:10]}"
            return Response(as_xlsx(levels, result["ranking"]["workers"], title), mimetype=XLSX,
                            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
        if args["format"] == "geojson":
            return Response(json.dumps(as_geojson(session, result, q.layer), ensure_ascii=False), mimetype="application/geo+json")
    return result


@bp.get("/stats/live")
@bp.arguments(LiveArgs(), location="query", as_kwargs=True)
@bp.response(200, LiveSchema)
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role does not see the measures, or not of this area")
@problem_response(bp, 404, "no area has this code")
def live_now(**args: Any) -> dict[str, Any]:
    """What a big screen shows now: open and overdue incidents, today's reports and closures, today's flow through the
    loop, open work per grid, the month's best and worst grids (ask again on each event of /api/v1/stream)."""
    who = caller()
    cfg = current_app.config
    area = args.get("area") or (None if who.policy.measures == ALL else (who.areas[0] if who.areas else None))
    with database().session() as session, unknown_area_said():
        return live(session, who, cfg["TIMEZONE"], cfg["PRIMARY_LAYER"], area)
