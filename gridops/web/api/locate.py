from __future__ import annotations

import io
from typing import Any

from flask import Response, current_app, request, stream_with_context
from werkzeug.exceptions import UnsupportedMediaType

from gridops.geo.crs import crs_name

from gridops.boundaries.batch import csv_chunks, geojson_chunks, locate_batch, parse_csv, parse_geojson
from gridops.boundaries.geocoder import LocationQuery
from gridops.core.errors import InvalidParameter
from gridops.core.words import Say
from gridops.web.api.parsing import Blueprint, text_body
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.locate import BatchArgs, LocateAnswer, LocateArgs
from gridops.web.request import database, geocoder

bp = Blueprint("locate", __name__, description="Where is it, and whose ground is it")

_BATCH_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string", "example": "id,lon,lat,crs\na,104.10,30.62,wgs84\n"}},
        "application/geo+json": {"schema": {"type": "object", "description": "a FeatureCollection of Point features"}},
        "application/json": {"schema": {"type": "object", "description": "a FeatureCollection of Point features"}},
    },
}
_BATCH_ANSWER = {
    "200": {
        "description": "the rows back, in the request's format unless `format` says otherwise, streamed",
        "content": {"text/csv": {"schema": {"type": "string"}}, "application/geo+json": {"schema": {"type": "object"}}},
    }
}


@bp.get("/locate")
@bp.arguments(LocateArgs(), location="query", as_kwargs=True)
@bp.response(200, LocateAnswer)
@problem_response(bp, 400, "malformed or missing location, unknown crs")
@problem_response(bp, 404, "unknown building, household or address; no boundaries at `at`")
@problem_response(bp, 422, "outside the service area (with `distance_m`), swapped lon/lat, ambiguous address (with `candidates`)")
def locate_one(**args: Any) -> dict[str, Any]:
    """One location → grid, micro-grid and every area above them, in every layer."""
    q = LocationQuery(
        x=args.get("lon"), y=args.get("lat"), crs=args.get("crs"), building=args.get("building") or None,
        household=args.get("household") or None, address=args.get("address") or None, at=args.get("at"),
    )
    if (q.x is None) != (q.y is None):
        missing = "lat" if q.y is None else "lon"
        raise InvalidParameter(missing, Say("`%(missing)s` is required with `%(value)s`.",
                                            missing=missing, value='lon' if missing == 'lat' else 'lat'))
    return geocoder().locate(q, database().session)


@bp.post("/locate")
@bp.arguments(BatchArgs(), location="query", as_kwargs=True)
@bp.doc(requestBody=_BATCH_BODY, responses=_BATCH_ANSWER)
@problem_response(bp, 400, "the body cannot be read, or holds too many points")
@problem_response(bp, 413, "the body exceeds the size limit")
@problem_response(bp, 415, "neither CSV nor GeoJSON")
def locate_many(**args: Any) -> Response:
    """Up to 100,000 points (CSV lon,lat[,crs][,id] or GeoJSON Points); rows come back streamed, each with its areas or its error."""
    limit = current_app.config["BATCH_MAX_POINTS"]
    default_crs = crs_name(args.get("crs"))
    kind = (request.mimetype or "").lower()
    if kind in ("text/csv", "application/csv"):
        # newline="": the csv module reads line ends itself (CR alone, as old spreadsheets write, or in a quoted field)
        batch = parse_csv(io.StringIO(text_body(request), newline=""), limit, default_crs)
        fmt = "csv"
    elif kind in ("application/json", "application/geo+json"):
        doc = request.get_json(silent=True)
        if doc is None:
            raise InvalidParameter("body", Say("the body is not valid JSON."))
        batch = parse_geojson(doc, limit, default_crs)
        fmt = "geojson"
    else:
        raise UnsupportedMediaType(
            "send the points as text/csv (a header with lon,lat[,crs][,id]) or application/geo+json "
            f"(a FeatureCollection of Points); got {kind or 'no content type'}."
        )
    fmt = args.get("format") or fmt
    result = locate_batch(geocoder(), batch, args.get("at"))
    if fmt == "csv":
        return Response(stream_with_context(csv_chunks(result)), mimetype="text/csv")
    return Response(stream_with_context(geojson_chunks(result)), mimetype="application/geo+json")
