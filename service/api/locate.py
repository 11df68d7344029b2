from __future__ import annotations

import io

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from werkzeug.exceptions import UnsupportedMediaType

from geo.crs import crs_name

from ..batch import csv_chunks, geojson_chunks, locate_batch, parse_csv, parse_geojson
from ..errors import InvalidParameter
from ..geocoding import LocationQuery
from ..web import database, float_arg, geocoder, time_arg

bp = Blueprint("locate", __name__)


@bp.get("/locate")
def locate_one():
    q = LocationQuery(
        x=float_arg("lon"),
        y=float_arg("lat"),
        crs=request.args.get("crs"),
        building=request.args.get("building") or None,
        household=request.args.get("household") or None,
        address=request.args.get("address") or None,
        at=time_arg("at"),
    )
    if (q.x is None) != (q.y is None):
        missing = "lat" if q.y is None else "lon"
        raise InvalidParameter(missing, f"`{missing}` is required with `{'lon' if missing == 'lat' else 'lat'}`.")
    return jsonify(geocoder().locate(q, database().session))


@bp.post("/locate")
def locate_many():
    limit = current_app.config["BATCH_MAX_POINTS"]
    default_crs = crs_name(request.args.get("crs"))
    kind = (request.mimetype or "").lower()
    if kind in ("text/csv", "application/csv"):
        text = io.StringIO(request.get_data(as_text=True))
        batch = parse_csv(text, limit, default_crs)
        fmt = "csv"
    elif kind in ("application/json", "application/geo+json"):
        doc = request.get_json(silent=True)
        if doc is None:
            raise InvalidParameter("body", "the body is not valid JSON.")
        batch = parse_geojson(doc, limit, default_crs)
        fmt = "geojson"
    else:
        _unsupported(kind)
    fmt = request.args.get("format") or fmt
    if fmt not in ("csv", "geojson"):
        raise InvalidParameter("format", f"`format` must be csv or geojson; got {fmt!r}.")
    result = locate_batch(geocoder(), batch, time_arg("at"))
    if fmt == "csv":
        return Response(stream_with_context(csv_chunks(result)), mimetype="text/csv")
    return Response(stream_with_context(geojson_chunks(result)), mimetype="application/geo+json")


def _unsupported(kind: str) -> None:
    raise UnsupportedMediaType(
        f"send the points as text/csv (a header with lon,lat[,crs][,id]) or application/geo+json (a FeatureCollection of Points); got {kind or 'no content type'}."
    )
