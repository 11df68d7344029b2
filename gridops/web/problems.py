"""The one place errors become HTTP: RFC 9457 problem details.

Every error the application raises has a kind (its `slug`); this table gives
each kind its status, title and description (served at /problems/<slug>).
`describe` turns any exception into a Problem; the API renders it as
`application/problem+json` and Open311 as its own XML or JSON error list — two
renderings of the same mapping.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, json, render_template, request
from flask_babel import gettext
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from gridops.geo.errors import GeoError

from gridops.core.errors import GridopsError
from gridops.core.words import Say
from gridops.web.fields import field_label
from gridops.web.i18n import N_, say

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

# slug -> (status, title, what it means and what to do); titles are marked for the pages' catalogues (N_)
PROBLEM_TYPES: dict[str, tuple[int, str, str]] = {
    "invalid-parameter": (400, N_("Invalid parameter"),
                          "A query parameter or body field has a value the API cannot use; the detail names it."),
    "not-found": (404, N_("Not found"), "The resource does not exist (or not as of the time asked)."),
    "no-thumbnail": (404, N_("No thumbnail"), "No thumbnail can be made of this photo (a HEIC photo on a server without a HEIC "
                     "decoder, or an image that does not decode); open the original photo instead."),
    "method-not-allowed": (405, N_("Method not allowed"), "This URL does not take that HTTP method."),
    "payload-too-large": (413, N_("Payload too large"), "The request body exceeds the configured limit."),
    "unsupported-media-type": (415, N_("Unsupported media type"), "Send the content type the endpoint documents."),
    "invalid-geometry": (422, N_("Invalid geometry"), "A geometry is malformed or not valid."),
    "invalid-coordinates": (400, N_("Invalid coordinates"), "Coordinates are out of range, not numbers, or swapped."),
    "unknown-crs": (400, N_("Unknown CRS"), "The `crs` parameter names a coordinate system gridops does not convert."),
    "outside-service-area": (422, N_("Outside the service area"),
                             "The location is farther from every grid than the snap distance; `distance_m` says how far."),
    "swapped-coordinates": (422, N_("Latitude and longitude swapped"),
                            "The point is outside the service area as given but inside it with lon and lat exchanged."),
    "ambiguous-address": (422, N_("Ambiguous address"),
                          "The address matches several buildings; `candidates` lists them. Send a building code or a fuller address."),
    "unknown-location": (404, N_("Unknown location"), "No building, household or address matches what was sent."),
    "boundaries-refused": (422, N_("Boundaries refused"),
                           "The boundary file has errors (or warnings not accepted); nothing was stored. `report` lists every "
                           "finding with its place."),
    "invalid-file": (422, N_("Invalid file"), "Rows of an imported file cannot be stored: `rows` gives each one's number, field and "
                     "what is wrong. Nothing of the file was stored; correct those rows and import it again."),
    "no-boundaries": (404, N_("No boundaries"), "No boundary version is in force for the time asked: import or load boundaries first."),
    "database-unavailable": (503, N_("Database unavailable"), "The database cannot be reached or lacks its spatial extension."),
    "server-busy": (503, N_("Server busy"), "The server holds as many open streams as it will; `Retry-After` says when to try again."),
    "schema-outdated": (503, N_("Schema outdated"), "The database schema is behind the code: run `gridops db upgrade`."),
    "conflict": (409, N_("Conflict"), "The request conflicts with the current state of the resource."),
    "grids-uncovered": (409, N_("Grids left uncovered"),
                        "Publishing the plan would leave grids with nobody answering for them; `report.uncovered` lists "
                        "them. Name a worker for each (`workers`) or accept each by name (`accept_uncovered`)."),
    "staffing-refused": (422, N_("Staffing refused"),
                         "A grid named in `workers` or `accept_uncovered` is not one of the plan's, or a worker code is "
                         "unknown or inactive; `field` and `value` say which. Nothing was published."),
    "unauthorized": (401, N_("Unauthorized"), "Sign in: send `Authorization: Bearer TOKEN` (Open311: `api_key`)."),
    "forbidden": (403, N_("Forbidden"), "Your role, or the ground you answer for, does not allow this."),
    "gone": (410, N_("Gone"), "What was here is no longer kept (a demolished building's label, a withdrawn link)."),
    "illegal-transition": (409, N_("Illegal transition"),
                           "The incident is not in a state where this step can be taken; `allowed` lists what can be."),
    "too-far": (422, N_("Too far away"),
                "A check-in must be made near the incident and inside its grid; `distance_m` says how far you are."),
    "device-clock-ahead": (422, N_("Device clock ahead"),
                           "The step's `device_time` is more than five minutes ahead of the server's clock: the phone's clock "
                           "is wrong. Set it to automatic (network) time and send again."),
    "too-many-requests": (429, N_("Too many requests"), "Too many attempts from this address: wait a minute and try again."),
    "internal-error": (500, N_("Internal error"), "An unexpected error; it has been logged."),
}
_HTTP_SLUGS = {404: "not-found", 410: "gone", 405: "method-not-allowed", 413: "payload-too-large", 415: "unsupported-media-type",
               429: "too-many-requests"}
# what the HTTP layer itself refuses, said in the reader's language (werkzeug's own descriptions are English)
_HTTP_DETAILS = {
    404: N_("Nothing is at this address: check the link, or go back to the home page."),
    405: N_("This address does not take that kind of request."),
    410: N_("What was at this address is no longer kept."),
    413: N_("What was sent is larger than the server takes."),
    415: N_("What was sent is not of a type this address takes."),
    429: N_("Too many attempts from this address: wait a minute and try again."),
}
STALE = N_("Someone changed this at the same moment (an incident, a plan draft): reload it and try again.")
UNEXPECTED = N_("An unexpected error occurred; it has been logged.")
# marshmallow's refusals (webargs) as sentences of the catalogues: the pattern's groups fill the template, and
# `field` is the field as the reader names it (gridops.web.fields)
_VALIDATION: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p + "$"), t) for p, t in (
    (r"Missing data for required field\.", N_("%(field)s is required.")),
    (r"Field may not be null\.", N_("%(field)s may not be empty.")),
    (r"Not a valid integer\.", N_("%(field)s must be a whole number.")),
    (r"Not a valid number\.", N_("%(field)s must be a number.")),
    (r"Special numeric values \(nan or infinity\) are not permitted\.", N_("%(field)s must be a finite number.")),
    (r"Number too large\.", N_("%(field)s is too large a number.")),
    (r"Not a valid boolean\.", N_("%(field)s must be true or false.")),
    (r"Not a valid (?:utf-8 )?string\.", N_("%(field)s must be text.")),
    (r"Not a valid (?:aware |naive )?datetime\.", N_("%(field)s must be a date and time, like 2026-12-03T17:30:00+08:00.")),
    (r"Not a valid date\.", N_("%(field)s must be a date, like 2026-12-03.")),
    (r"Not a valid list\.", N_("%(field)s must be a list.")),
    (r"Not a valid mapping type\.", N_("%(field)s must be an object (a JSON mapping).")),
    (r"Not a valid email address\.", N_("%(field)s must be an e-mail address.")),
    (r"Not a valid URL\.", N_("%(field)s must be a web address (http:// or https://).")),
    (r"Not a valid UUID\.", N_("%(field)s must be a UUID.")),
    (r"Must be one of: (?P<choices>.*)\.", N_("%(field)s must be one of: %(choices)s.")),
    (r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.",
     N_("%(field)s must be from %(min)s to %(max)s.")),
    (r"Must be greater than or equal to (?P<min>\S+)\.", N_("%(field)s must be at least %(min)s.")),
    (r"Must be less than or equal to (?P<max>\S+)\.", N_("%(field)s must be at most %(max)s.")),
    (r"Must be greater than (?P<min>\S+)\.", N_("%(field)s must be more than %(min)s.")),
    (r"Must be less than (?P<max>\S+)\.", N_("%(field)s must be less than %(max)s.")),
    (r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.", N_("%(field)s must be %(min)s to %(max)s long.")),
    (r"Length must be (?P<equal>\d+)\.", N_("%(field)s must be %(equal)s long.")),
    (r"Longer than maximum length (?P<max>\d+)\.", N_("%(field)s is too long: at most %(max)s.")),
    (r"Shorter than minimum length (?P<min>\d+)\.", N_("%(field)s is too short: at least %(min)s.")),
    (r"String does not match expected pattern\.", N_("%(field)s is not in the expected form.")),
    (r"Unknown field\.", N_("%(field)s is not a field this request takes.")),
    (r"Invalid value\.", N_("%(field)s has a value that cannot be used.")),
    (r"Invalid input type\.", N_("The request body must be a JSON object.")),
))
_LOCATIONS = ("query.", "json.", "form.", "files.", "headers.", "path.", "json_or_form.", "form_and_files.")


@dataclass(frozen=True)
class Problem:
    status: int
    slug: str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """The kind's title in the reader's language (the `type` stays the machine's)."""
        return gettext(PROBLEM_TYPES.get(self.slug, (self.status, self.slug.replace("-", " ").capitalize(), ""))[1])


def status_of(slug: str) -> int:
    return PROBLEM_TYPES[slug][0] if slug in PROBLEM_TYPES else 500


def describe(err: BaseException) -> Problem:
    """Any exception as the problem it is, its detail in the reader's language (an unexpected one is logged,
    and says only that it happened)."""
    if isinstance(err, GridopsError):
        status = status_of(err.slug)
        if status >= 500:
            log.error("%s: %s", type(err).__name__, err.message)
        return Problem(status, err.slug, say(err.public_said), dict(err.details))
    if isinstance(err, GeoError):
        return Problem(status_of(err.slug), err.slug, say(Say(err.template, **err.params)), dict(err.details))
    if isinstance(err, HTTPException):
        messages = (getattr(err, "data", None) or {}).get("messages")
        if messages:  # a request that failed its schema: name the first field, list them all
            return _invalid_request(messages)
        status = err.code or 500
        slug = _HTTP_SLUGS.get(status, "invalid-parameter" if status < 500 else "internal-error")
        own = err.description if err.description and err.description != type(err).description else None
        return Problem(status, slug, say(own) if own else gettext(_HTTP_DETAILS.get(status, "")) or err.name)
    if isinstance(err, StaleDataError):
        return Problem(409, "conflict", gettext(STALE))
    log.error("unhandled error", exc_info=err)
    return Problem(500, "internal-error", gettext(UNEXPECTED))


def flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """webargs/marshmallow messages ({location: {field: [msg]}}) as (field, message) pairs."""
    out: list[tuple[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out.extend((prefix, m) for m in messages)
    elif isinstance(messages, list):
        for k, value in enumerate(messages):
            out.extend(flatten(value, f"{prefix}[{k}]"))
    else:
        out.append((prefix, str(messages)))
    return out


def _invalid_request(messages: Any) -> Problem:
    pairs = [(f[len(loc):] if (loc := next((p for p in _LOCATIONS if f.startswith(p)), "")) else f, m) for f, m in flatten(messages)]
    name, message = pairs[0]
    return Problem(400, "invalid-parameter", refusal(name, message), {"field": name, "errors": dict(pairs)})


def refusal(name: str, message: str) -> str:
    """A schema's refusal of one field as a sentence in the reader's language, naming the field as they name it."""
    for pattern, template in _VALIDATION:
        found = pattern.match(message)
        if found:
            return say(Say(template, field=field_label(name) if name and name != "_schema" else "", **found.groupdict()))
    text = say(message)
    if not name or name == "_schema":
        return text
    if text.startswith(("must ", "Must ", "is ", "须")):  # the schema's own sentence (gridops.web.api.schemas) goes on from the field
        return say(Say(N_("%(field)s %(text)s"), field=field_label(name), text=text[0].lower() + text[1:]))
    return say(Say(N_("%(field)s is invalid: %(reason)s"), field=field_label(name), reason=text))


def problem_response(p: Problem) -> Response:
    """The problem as RFC 9457 JSON."""
    body: dict[str, Any] = {"type": f"/problems/{p.slug}", "title": p.title, "status": p.status, "detail": p.detail}
    try:
        body["instance"] = request.path
    except RuntimeError:  # outside a request
        pass
    body.update({k: v for k, v in p.extra.items() if v is not None})
    response = Response(json.dumps(body, ensure_ascii=False), status=p.status, mimetype=PROBLEM_MEDIA_TYPE)
    if p.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="gridops"'
    return response


# an error page's heading, by status: what a person reads first (the problem type's title is the API's)
PAGE_TITLES = {
    400: N_("That cannot be done as asked"), 401: N_("Please sign in"), 403: N_("This page is not for your role"),
    404: N_("Page not found"), 405: N_("That cannot be done here"), 409: N_("Someone changed this first"),
    410: N_("No longer here"), 413: N_("Too large"), 429: N_("Too many attempts"), 500: N_("Something went wrong"),
    503: N_("The service is not available just now"),
}
_API_PREFIXES = ("/api/", "/open311/")


def wants_page() -> bool:
    """Whether the request is a person's browser asking for a page (Accept prefers text/html) rather than a
    client of the API: the API, Open311 and every fetch() of the pages keep their problem details."""
    if request.path.startswith(_API_PREFIXES):
        return False
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html" \
        and request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]


def page_response(p: Problem, hint: str | None = None) -> Response:
    """The problem as an HTML page in the reader's language, with the way home (the status is the problem's)."""
    heading = PAGE_TITLES.get(p.status) or (PAGE_TITLES[500] if p.status >= 500 else PAGE_TITLES[400])
    try:
        html = render_template("error.html", status=p.status, title=gettext(heading), detail=p.detail, hint=hint, slug=p.slug)
    except Exception:  # the page itself cannot be drawn (the database behind the header is gone): the problem as JSON
        log.exception("the error page for %s could not be drawn", p.status)
        return problem_response(p)
    return Response(html, status=p.status, mimetype="text/html")


def problem(status: int, slug: str, detail: str, **extra: Any) -> Response:
    return problem_response(Problem(status, slug, detail, extra))


def open311_status(p: Problem) -> int:
    """Open311's own codes: 404 for what does not exist, 403 for the api_key, 400 for the rest of the caller's
    mistakes; a fault of ours stays a 5xx."""
    if p.status in (403, 404, 405, 413, 415, 429) or p.status >= 500:
        return p.status
    return 403 if p.status == 401 else 400


def register_error_handlers(app: Flask, by_prefix: Mapping[str, Callable[[Exception], Response]] | None = None) -> None:
    """Every error of every route answers as problem details (Open311's blueprint renders its own).

    `by_prefix` renders the errors of a URL that matched no route (404, 405) under a prefix that speaks
    another format (Open311's error list): no view, hence no blueprint, is there to say so."""
    prefixes = dict(by_prefix or {})

    def handle(err: Exception) -> Response:
        if request.blueprint is None:
            render = next((r for p, r in prefixes.items() if request.path.startswith(p)), None)
            if render is not None:
                return render(err)
        p = describe(err)
        response = page_response(p) if p.status != 401 and wants_page() else problem_response(p)
        retry = getattr(err, "retry_after", None)  # a rate limit (gridops.web.limits) says when to come back
        if retry:
            response.headers["Retry-After"] = str(retry)
        return response

    for kind in (GridopsError, GeoError, HTTPException, StaleDataError, Exception):
        app.register_error_handler(kind, handle)
