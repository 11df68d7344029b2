from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, request

from gridops.boundaries.areas import AreaQuery, get_area, list_areas
from gridops.core.errors import InvalidParameter
from gridops.core.words import Say
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.areas import AreaAtArgs, AreaCollection, AreaFeature, AreaQueryArgs
from gridops.web.api.schemas.common import problem_response
from gridops.web.request import database

bp = Blueprint("areas", __name__, description="Areas (district … micro-grid) as GeoJSON, as of a time")


@bp.after_request
def _geojson(response: Response) -> Response:
    """Answers here are GeoJSON (RFC 7946 names its own media type)."""
    if response.status_code == 200 and response.mimetype == "application/json":
        response.mimetype = "application/geo+json"
    return response


def _page_link(rel: str, offset: int, limit: int) -> dict[str, str]:
    args = {k: v for k, v in request.args.items() if k not in {"offset", "limit"}}
    args.update(offset=str(offset), limit=str(limit))
    return {"rel": rel, "type": "application/geo+json", "href": f"{request.base_url}?{urlencode(args)}"}


@bp.get("/areas")
@bp.arguments(AreaQueryArgs(), location="query", as_kwargs=True)
@bp.response(200, AreaCollection, content_type="application/geo+json")
@problem_response(bp, 400, "a parameter is invalid")
def areas(**args: Any) -> dict[str, Any]:
    """A page of areas as a GeoJSON FeatureCollection, with `bbox`, counts and next/prev links."""
    cfg = current_app.config
    limit = args.get("limit") or cfg["API_PAGE_SIZE"]
    if limit > cfg["API_MAX_PAGE_SIZE"]:
        raise InvalidParameter("limit", Say("`limit` must be between 1 and %(cfg)s, got %(limit)s.",
                                            cfg=cfg['API_MAX_PAGE_SIZE'], limit=limit))
    q = AreaQuery(
        layer=args.get("layer") or cfg["PRIMARY_LAYER"], level=args.get("level"), within=args.get("within"),
        at=args.get("at"), bbox=args.get("bbox"), limit=limit, offset=args["offset"],
    )
    with database().session() as session:
        collection = list_areas(session, q)
    links = [_page_link("self", q.offset, q.limit)]
    if q.offset + collection["numberReturned"] < collection["numberMatched"]:
        links.append(_page_link("next", q.offset + q.limit, q.limit))
    if q.offset > 0:
        links.append(_page_link("prev", max(0, q.offset - q.limit), q.limit))
    collection["links"] = links
    return collection


@bp.get("/areas/<code>")
@bp.arguments(AreaAtArgs(), location="query", as_kwargs=True)
@bp.response(200, AreaFeature, content_type="application/geo+json")
@problem_response(bp, 400, "a parameter is invalid")
@problem_response(bp, 404, "no such area in the version in force")
def area(code: str, **args: Any) -> dict[str, Any]:
    """One area by its code, in the version in force at `at`."""
    layer = args.get("layer") or current_app.config["PRIMARY_LAYER"]
    with database().session() as session:
        return get_area(session, layer, code, args.get("at"))
