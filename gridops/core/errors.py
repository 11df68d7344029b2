"""Domain errors and the one place they become RFC 9457 problem details.

Application code raises these (or geo.errors.GeoError); it never builds HTTP
responses. The CLI prints the same message as one sentence.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from gridops.geo.errors import GeoError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

# slug -> (title, what it means and what to do); served at /problems/<slug>
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "invalid-parameter": ("Invalid parameter", "A query parameter or body field has a value the API cannot use; the detail names it."),
    "not-found": ("Not found", "The resource does not exist (or not as of the time asked)."),
    "method-not-allowed": ("Method not allowed", "This URL does not take that HTTP method."),
    "payload-too-large": ("Payload too large", "The request body exceeds the configured limit."),
    "unsupported-media-type": ("Unsupported media type", "Send the content type the endpoint documents."),
    "invalid-geometry": ("Invalid geometry", "A geometry is malformed or not valid."),
    "invalid-coordinates": ("Invalid coordinates", "Coordinates are out of range, not numbers, or swapped."),
    "unknown-crs": ("Unknown CRS", "The `crs` parameter names a coordinate system gridops does not convert."),
    "outside-service-area": ("Outside the service area", "The location is farther from every grid than the snap distance; `distance_m` says how far."),
    "swapped-coordinates": ("Latitude and longitude swapped", "The point is outside the service area as given but inside it with lon and lat exchanged."),
    "ambiguous-address": ("Ambiguous address", "The address matches several buildings; `candidates` lists them. Send a building code or a fuller address."),
    "unknown-location": ("Unknown location", "No building, household or address matches what was sent."),
    "boundaries-refused": ("Boundaries refused", "The boundary file has errors (or warnings not accepted); nothing was stored. `report` lists every finding with its place."),
    "no-boundaries": ("No boundaries", "No boundary version is in force for the time asked: import or load boundaries first."),
    "database-unavailable": ("Database unavailable", "The database cannot be reached or lacks its spatial extension."),
    "schema-outdated": ("Schema outdated", "The database schema is behind the code: run `gridops db upgrade`."),
    "conflict": ("Conflict", "The request conflicts with the current state of the resource."),
    "unauthorized": ("Unauthorized", "Sign in: send `Authorization: Bearer TOKEN` (Open311: `api_key`)."),
    "forbidden": ("Forbidden", "Your role, or the ground you answer for, does not allow this."),
    "illegal-transition": ("Illegal transition", "The incident is not in a state where this step can be taken; `allowed` lists what can be."),
    "too-far": ("Too far away", "A check-in must be made near the incident and inside its grid; `distance_m` says how far you are."),
    "internal-error": ("Internal error", "An unexpected error; it has been logged."),
}


class GridopsError(Exception):
    """An error with a message a person can act on and the HTTP status it maps to."""

    status = 400
    slug = "invalid-parameter"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(GridopsError):
    status = 500
    slug = "internal-error"


class InvalidParameter(GridopsError):
    """Bad input: `field` names the parameter, so a client can point at it."""

    def __init__(self, field: str, message: str, **details: Any) -> None:
        super().__init__(message, field=field, **details)


class NotFound(GridopsError):
    status = 404
    slug = "not-found"


class Conflict(GridopsError):
    status = 409
    slug = "conflict"


class DatabaseUnavailable(GridopsError):
    """The database or its spatial extension is missing: one sentence and the fix."""

    status = 503
    slug = "database-unavailable"


class SchemaOutdated(GridopsError):
    status = 503
    slug = "schema-outdated"


def problem(status: int, slug: str, detail: str, **extra: Any) -> Response:
    title = PROBLEM_TYPES.get(slug, (slug.replace("-", " ").capitalize(), ""))[0]
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    try:
        body["instance"] = request.path
    except RuntimeError:
        pass
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MEDIA_TYPE)


_HTTP_SLUGS = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large", 415: "unsupported-media-type"}


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """webargs/marshmallow messages ({location: {field: [msg]}}) as (field, message) pairs."""
    out: list[tuple[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out.extend((prefix, m) for m in messages)
    elif isinstance(messages, list):
        for k, value in enumerate(messages):
            out.extend(_flatten(value, f"{prefix}[{k}]"))
    else:
        out.append((prefix, str(messages)))
    return out


_LOCATIONS = ("query.", "json.", "form.", "files.", "headers.", "path.", "json_or_form.", "form_and_files.")


def _invalid_request(messages: Any) -> Response:
    pairs = [(f[len(loc):] if (loc := next((p for p in _LOCATIONS if f.startswith(p)), "")) else f, m) for f, m in _flatten(messages)]
    field, message = pairs[0]
    text = message[0].lower() + message[1:] if message[:1].isupper() else message
    if not text.startswith("must"):
        text = "is invalid: " + text if field != "_schema" else text
    detail = f"`{field}` {text}" if field and field != "_schema" else message
    return problem(400, "invalid-parameter", detail, field=field, errors={f: m for f, m in pairs})


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(GridopsError)
    def _domain(err: GridopsError) -> Response:
        if err.status >= 500:
            log.error("%s: %s", type(err).__name__, err.message)
        response = problem(err.status, err.slug, err.message, **err.details)
        if err.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="gridops"'
        return response

    @app.errorhandler(GeoError)
    def _geo(err: GeoError) -> Response:
        return problem(err.status, err.slug, str(err), **err.details)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        messages = (getattr(err, "data", None) or {}).get("messages")
        if messages:  # a request that failed its schema: name the first field, list them all
            return _invalid_request(messages)
        status = err.code or 500
        slug = _HTTP_SLUGS.get(status, "invalid-parameter" if status < 500 else "internal-error")
        return problem(status, slug, err.description or err.name)

    @app.errorhandler(StaleDataError)
    def _stale(err: StaleDataError) -> Response:
        return problem(409, "conflict", "someone changed this at the same moment (an incident, a plan draft); reload it and try again.")

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        log.exception("unhandled error on %s", request.path)
        return problem(500, "internal-error", "An unexpected error occurred; it has been logged.")
