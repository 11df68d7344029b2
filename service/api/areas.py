from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, request

from ..areas import AreaQuery, get_area, list_areas
from ..web import bbox_arg, database, int_arg, time_arg

bp = Blueprint("areas", __name__)


def _page_link(rel: str, offset: int, limit: int) -> dict[str, str]:
    args = {k: v for k, v in request.args.items() if k not in {"offset", "limit"}}
    args.update(offset=str(offset), limit=str(limit))
    return {"rel": rel, "type": "application/geo+json", "href": f"{request.base_url}?{urlencode(args)}"}


@bp.get("/areas")
def areas():
    cfg = current_app.config
    q = AreaQuery(
        layer=request.args.get("layer") or cfg["PRIMARY_LAYER"],
        level=request.args.get("level") or None,
        within=request.args.get("within") or None,
        at=time_arg("at"),
        bbox=bbox_arg(),
        limit=int_arg("limit", cfg["API_PAGE_SIZE"], minimum=1, maximum=cfg["API_MAX_PAGE_SIZE"]),
        offset=int_arg("offset", 0, minimum=0, maximum=10**9),
    )
    with database().session() as session:
        collection = list_areas(session, q)
    links = [_page_link("self", q.offset, q.limit)]
    if q.offset + collection["numberReturned"] < collection["numberMatched"]:
        links.append(_page_link("next", q.offset + q.limit, q.limit))
    if q.offset > 0:
        links.append(_page_link("prev", max(0, q.offset - q.limit), q.limit))
    collection["links"] = links
    response = jsonify(collection)
    response.mimetype = "application/geo+json"
    return response


@bp.get("/areas/<code>")
def area(code: str):
    layer = request.args.get("layer") or current_app.config["PRIMARY_LAYER"]
    with database().session() as session:
        feature = get_area(session, layer, code, time_arg("at"))
    response = jsonify(feature)
    response.mimetype = "application/geo+json"
    return response
