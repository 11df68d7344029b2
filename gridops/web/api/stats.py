"""The measures per grid, community and street (格内解决率, 按期结案率, 满意率 …), with exports."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app

from gridops.analytics.stats import StatsQuery, as_csv, as_geojson, stats
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.stats import Stats, StatsArgs
from gridops.web.request import caller, database

bp = Blueprint("stats", __name__, description="The measures the users count, per area and period")


@bp.get("/stats")
@bp.arguments(StatsArgs(), location="query", as_kwargs=True)
@bp.response(200, Stats)
@bp.doc(responses={"200": {"description": "the measures; format=csv or format=geojson for the other forms", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Stats"}},
    "text/csv": {"schema": {"type": "string"}},  # format=csv: one row per area
    "application/geo+json": {"schema": {"type": "object"}}}}})  # format=geojson: the areas with their measures
@problem_response(bp, 400, "a parameter is invalid")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 403, "your role does not see the measures, or not of this area")
def measures(**args: Any) -> Response | dict[str, Any]:
    """Per area for a period (default this month): incidents by category, closure, on-time closure, in-grid
    resolution, time to close, overdue, rework, satisfaction, and the rankings; the definitions come with them."""
    who = caller()
    cfg = current_app.config
    q = StatsQuery(level=args["level"], area=args.get("area"), since=args.get("since"), until=args.get("until"),
                   layer=cfg["PRIMARY_LAYER"])
    with database().session() as session:
        result = stats(session, q, who, cfg["TIMEZONE"])
        if args["format"] == "csv":
            return Response(as_csv(result), mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="gridops-{q.level}-stats.csv"'})
        if args["format"] == "geojson":
            return Response(json.dumps(as_geojson(session, result, q.layer), ensure_ascii=False), mimetype="application/geo+json")
    return result
