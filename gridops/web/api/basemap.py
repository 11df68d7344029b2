"""The city's own base map as GeoJSON tiles: what every map draws under its grids, with no tile server."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, request, send_file

from gridops.basemap.archive import TileArchive, open_archive
from gridops.basemap.city import city_tile
from gridops.core.errors import NotFound
from gridops.core.words import Say
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


# the tile archive (GRIDOPS_TILES): not part of the API document, the way a tile server's paths are not
tiles = FlaskBlueprint("tiles", __name__)


def _archive() -> TileArchive:
    if not current_app.config.get("TILES"):
        raise NotFound(Say("no tile archive is configured (GRIDOPS_TILES)"))
    return open_archive(str(current_app.config["TILES"]))


@tiles.get("/tiles/<int:z>/<int:x>/<int:y>")
def archive_tile(z: int, x: int, y: int) -> Response:
    """One tile of the archive, for Leaflet's plain tile layer. Outside the archive: 204, drawn as nothing
    (the city's own streets still are), rather than a broken-image 404 per tile."""
    archive = _archive()
    data = archive.tile(z, x, y)
    if data is None:
        return Response(status=204, headers={"Cache-Control": "public, max-age=3600"})
    tag = hashlib.sha1(data).hexdigest()[:20]
    headers = {"ETag": f'"{tag}"', "Cache-Control": "public, max-age=86400"}
    if tag in request.if_none_match:
        return Response(status=304, headers=headers)
    return Response(data, mimetype=archive.media_type, headers=headers)


@tiles.get("/tiles/archive.pmtiles")
def archive_file() -> Response:
    """The .pmtiles file whole, with HTTP range requests (206), for clients that read archives themselves."""
    archive = _archive()
    if archive.kind != "pmtiles":
        raise NotFound(Say("the tile archive is an .mbtiles file: its tiles are at /tiles/{z}/{x}/{y}"))
    return send_file(archive.path, mimetype="application/vnd.pmtiles", conditional=True, max_age=3600)
