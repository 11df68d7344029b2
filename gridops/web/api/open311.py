"""Open311 GeoReport v2 at /open311/v2: the spec's resources, in XML and JSON, with the spec's errors."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from flask import Response, current_app, json, request, url_for
from marshmallow import EXCLUDE, Schema, fields, validate
from werkzeug.exceptions import HTTPException

from gridops.geo.errors import GeoError

from gridops.core.errors import GridopsError
from gridops.incidents import open311
from gridops.incidents.idempotency import check_key, fingerprint
from gridops.incidents.intake.submission import Submission
from gridops.web.api.incidents import intake_queue
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.common import AwareDateTime
from gridops.web.problems import describe, open311_status
from gridops.web.request import caller, database, principal, token_hash

bp = Blueprint("open311", __name__, description="Open311 GeoReport v2: categories are services, incidents are requests")
FORMAT = "<any(xml, json):fmt>"
MEDIA = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}


def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _xml(root: str, item: str | None, rows: Any) -> str:
    top = Element(root)

    def fill(parent: Element, data: dict[str, Any]) -> None:
        for key, value in data.items():
            child = SubElement(parent, key)
            if isinstance(value, list):  # discovery: endpoints/endpoint, formats/format
                singular = key[:-1]
                for v in value:
                    grandchild = SubElement(child, singular)
                    if isinstance(v, dict):
                        fill(grandchild, v)
                    else:
                        grandchild.text = _xml_value(v)
            else:
                child.text = _xml_value(value)

    if item is None:
        fill(top, rows)
    else:
        for row in rows:
            fill(SubElement(top, item), row)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + tostring(top, encoding="unicode")


def render(fmt: str, root: str, item: str | None, data: Any, status: int = 200) -> Response:
    body = _xml(root, item, data) if fmt == "xml" else json.dumps(data, ensure_ascii=False)
    return Response(body, status=status, content_type=MEDIA[fmt])


def _fmt() -> str:
    return "json" if request.path.endswith(".json") else "xml"


def _error(status: int, description: str) -> Response:
    errors = [{"code": status, "description": description}]
    return render(_fmt(), "errors", "error", errors, status)


def error_response(err: Exception) -> Response:
    """The one mapping (gridops.web.problems), rendered as the spec's error list in the spec's codes: for
    the views' errors and for a URL under /open311/v2 that is none of them (`discovery.html`, a wrong method)."""
    p = describe(err)
    return _error(open311_status(p), p.detail)


for _kind in (GridopsError, GeoError, HTTPException, Exception):
    bp.register_error_handler(_kind, error_response)


class Jurisdiction(Schema):
    class Meta:
        unknown = EXCLUDE

    jurisdiction_id = fields.String(metadata={"description": "the district code (optional: this endpoint serves one)"})
    api_key = fields.String(metadata={"description": "a gridops user token: requests as its role sees them "
                                                     "(without one: the public view)"})


class RequestsArgs(Jurisdiction):
    service_request_id = fields.String(metadata={"description": "comma delimited; overrides every other argument"})
    service_code = fields.String(metadata={"description": "comma delimited"})
    start_date = AwareDateTime()
    end_date = AwareDateTime()
    status = fields.String(metadata={"description": "open, closed, or both comma delimited"})
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10**6))
    page_size = fields.Integer(load_default=open311.MAX_PAGE, validate=validate.Range(1, open311.MAX_PAGE))


class NewRequest(Jurisdiction):
    service_code = fields.String()
    lat = fields.Float(allow_nan=False)
    long = fields.Float(allow_nan=False)
    address_string = fields.String(validate=validate.Length(max=256))
    address_id = fields.String(metadata={"description": "a building code"})
    email = fields.String()
    device_id = fields.String()
    account_id = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    phone = fields.String()
    description = fields.String(validate=validate.Length(max=4000))
    media_url = fields.String()


def _answers(description: str, one: bool = False) -> dict[str, Any]:
    """Documents both formats; `one` for the resources the spec answers as a single object in JSON."""
    shape = {"type": "object"} if one else {"type": "array", "items": {"type": "object"}}
    content = {"text/xml": {"schema": {"type": "string"}}, "application/json": {"schema": shape}}
    errors = {"text/xml": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "array", "items": {
        "type": "object", "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}}}}}
    return {"responses": {
        "200": {"description": description, "content": content},
        "400": {"description": "the request cannot be fulfilled (the spec's error list)", "content": errors},
        "403": {"description": "api_key missing or invalid", "content": errors},
        "404": {"description": "no such jurisdiction, service, request or token", "content": errors},
        "405": {"description": "method not allowed", "content": errors},
        "413": {"description": "the body is too large", "content": errors},
        "415": {"description": "unsupported media type", "content": errors},
    }}


def _media_url(incident_id: int, sha256: str) -> str:
    """A photo's absolute URL, for `media_url`: fetched with the api_key's token as `Authorization: Bearer`
    (the photo route, like every route outside Open311, takes no token in its URL)."""
    return url_for("incidents.photo", incident_id=incident_id, sha256=sha256, _external=True)


@bp.get(f"/discovery.{FORMAT}")
@bp.doc(**_answers("service discovery", one=True))
def discovery(fmt: str) -> Response:
    """Service discovery: the GeoReport v2 endpoint and its formats."""
    with database().session() as session:
        district = open311.check_jurisdiction(session, None)
    data = open311.discovery(request.url_root.rstrip("/") + "/open311/v2", district)
    return render(fmt, "discovery", None, data)


@bp.get(f"/services.{FORMAT}")
@bp.arguments(Jurisdiction(), location="query", as_kwargs=True)
@bp.doc(**_answers("the services (incident categories)"))
def service_list(fmt: str, **args: Any) -> Response:
    """The services: one per incident category."""
    with database().session() as session:
        open311.check_jurisdiction(session, args.get("jurisdiction_id"))
        return render(fmt, "services", "service", open311.services(session))


@bp.get(f"/services/<service_code>.{FORMAT}")
@bp.arguments(Jurisdiction(), location="query", as_kwargs=True)
@bp.doc(**_answers("the service definition", one=True))
def service_definition(service_code: str, fmt: str, **args: Any) -> Response:
    """A service's definition (no extra attributes: metadata is false for every service)."""
    with database().session() as session:
        open311.check_jurisdiction(session, args.get("jurisdiction_id"))
        return render(fmt, "service_definition", None, open311.service_definition(session, service_code))


@bp.get(f"/requests.{FORMAT}")
@bp.arguments(RequestsArgs(), location="query", as_kwargs=True)
@bp.doc(**_answers("service requests, newest first"))
def request_list(fmt: str, **args: Any) -> Response:
    """Service requests with the spec's filters (default: the last 90 days), paged by page and page_size."""
    with database().session() as session:
        open311.check_jurisdiction(session, args.get("jurisdiction_id"))
        return render(fmt, "service_requests", "request", open311.requests(session, args, current_app.config["TIMEZONE"],
                                                                                  principal(), _media_url))


@bp.post(f"/requests.{FORMAT}")
@bp.arguments(NewRequest(), location="form")
@bp.doc(**_answers("the new request's id and notice"))
def request_create(form: dict[str, Any], fmt: str) -> Response:
    """Report an incident (api_key required); the id comes back at once (type realtime)."""
    who = caller()  # the api_key's user: the guard refused a request without one
    with database().session() as session:
        open311.check_jurisdiction(session, form.get("jurisdiction_id"))
        new = open311.new_report(session, form, who)
    sub = Submission(new, who, check_key(request.headers.get("Idempotency-Key"), who.user_id),
                     fingerprint("POST", request.path, who.user_id, request.get_data(cache=True)), "POST", request.path,
                     token_hash())
    answer = intake_queue().submit(sub).result()
    return render(fmt, "service_requests", "request", open311.receipt(answer, form, current_app.config["TIMEZONE"]))


@bp.get(f"/requests/<request_id>.{FORMAT}")
@bp.arguments(Jurisdiction(), location="query", as_kwargs=True)
@bp.doc(**_answers("one service request"))
def request_one(request_id: str, fmt: str, **args: Any) -> Response:
    """One service request by its id."""
    with database().session() as session:
        open311.check_jurisdiction(session, args.get("jurisdiction_id"))
        return render(fmt, "service_requests", "request", open311.one_request(session, request_id, current_app.config["TIMEZONE"],
                                                                                     principal(), _media_url))


@bp.get(f"/tokens/<token_id>.{FORMAT}")
@bp.arguments(Jurisdiction(), location="query", as_kwargs=True)
@bp.doc(**_answers("the request id a token stands for"))
def token(token_id: str, fmt: str, **args: Any) -> Response:
    """The service request id for a token."""
    with database().session() as session:
        open311.check_jurisdiction(session, args.get("jurisdiction_id"))
        return render(fmt, "service_requests", "request", open311.token(session, token_id))
