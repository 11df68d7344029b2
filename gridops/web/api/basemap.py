"""The city's own base map as GeoJSON tiles: what every map draws under its grids, with no tile server."""

from __future__ import annotations

import hashlib
import json

from flask import Response, request

from gridops.basemap.city import city_tile
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.basemap import BasemapTile
from gridops.web.api.schemas.common import problem_response
from gridops.web.request import database

bp = Blueprint("basemap", __name__, description="The city's streets and buildings as map tiles (the base map)")


@bp.get("/basemap/<int:z>/<int:x>/<int:y>.geojson")
@bp.response(200, BasemapTile, content_type="application/geo+json")
@problem_response(bp, 400, "no such tile")
def tile(z: int, x: int, y: int) -> Response:
    """Streets (from z13 the arterials, from z14 all, named) and building footprints (from z15) of tile z/x/y.
    An ETag of the content lets a browser keep a tile until the city's streets or buildings change."""
    with database().session() as session:
        body = json.dumps(city_tile(session, z, x, y), ensure_ascii=False, separators=(",", ":"))
    tag = hashlib.sha1(body.encode()).hexdigest()[:20]
    headers = {"ETag": f'"{tag}"', "Cache-Control": "public, max-age=300"}
    if tag in request.if_none_match:
        return Response(status=304, headers=headers)
    return Response(body, mimetype="application/geo+json", headers=headers)
