"""The HTTP API: thin blueprints that parse, call one application function, answer.

Blueprints are flask-smorest's: their marshmallow schemas validate requests and
shape answers, and the OpenAPI document at /api/v1/openapi.json is generated
from the same schemas. /api/docs shows it with Swagger UI, served by gridops.
"""

from __future__ import annotations

import http
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from flask import Blueprint, Flask, Response, send_from_directory
from flask_smorest import Api
from werkzeug.routing import IntegerConverter

from gridops.core.types import STORED_ID_MAX
from gridops.web.api.areas import bp as areas_bp
from gridops.web.api.auth import bp as auth_bp
from gridops.web.api.basemap import bp as basemap_bp
from gridops.web.api.basemap import tiles as tiles_bp
from gridops.web.api.boundaries import bp as boundaries_bp
from gridops.web.api.health import bp as health_bp
from gridops.web.api.inbox import bp as inbox_bp
from gridops.web.api.incidents import bp as incidents_bp
from gridops.web.api.locate import bp as locate_bp
from gridops.web.api.messages import bp as messages_bp
from gridops.web.api.open311 import bp as open311_bp
from gridops.web.api.open311 import error_response as open311_error
from gridops.web.api.patrols import bp as patrols_bp
from gridops.web.api.plans import bp as plans_bp
from gridops.web.api.registers import bp as registers_bp
from gridops.web.api.risk import bp as risk_bp
from gridops.web.api.schemas.common import Problem
from gridops.web.api.stats import bp as stats_bp
from gridops.web.api.stream import bp as stream_bp

_DESCRIPTION = """Grid mapping and dispatch for community grid governance (网格化治理).

Errors are RFC 9457 problem details (`application/problem+json`): `detail` says
what was wrong, `field` names the parameter, `type` links to a description.
Coordinates are lon/lat; times are ISO 8601 (a time without a zone is read in
the city's time zone)."""


OPEN311_PREFIX = "/open311/v2"
# the URL prefixes whose errors are not problem details (gridops.web.problems.register_error_handlers)
ERRORS_BY_PREFIX = {OPEN311_PREFIX + "/": open311_error}


def _swagger_assets() -> Path:
    return Path(swagger_ui_bundle.swagger_ui_path)


class StoredId(IntegerConverter):
    """A whole number that fits a stored id (a 64-bit integer): a longer one is no such resource (404),
    never a database overflow."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", STORED_ID_MAX)
        super().__init__(url_map, *args, **kwargs)


class GridopsApi(Api):
    """flask-smorest's Api, documenting errors as what gridops sends: RFC 9457 problem details."""

    ERROR_SCHEMA = Problem

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["content"] = {"application/problem+json": {"schema": self.ERROR_SCHEMA}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            "DEFAULT_ERROR",
            {"description": "an error, as problem details", "content": {"application/problem+json": {"schema": self.ERROR_SCHEMA}}},
            lazy=True,
        )


def register_api(app: Flask) -> Api:
    app.config.update(
        API_TITLE="gridops",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="v1/openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",  # served below: no request leaves the service
    )
    # a bearer token where a route needs one (gridops.access.policy.ROUTES says which), none where it does not:
    # Swagger UI's "Authorize" then sends the token with "Try it out"
    app.url_map.converters["int"] = StoredId  # before any route is added: every <int:…> is bounded
    api = GridopsApi(app, spec_kwargs={"info": {"description": _DESCRIPTION}, "security": [{"bearer": []}, {}]})
    api.register_converter(StoredId, lambda c: {"type": "integer", "format": "int64", "minimum": 0, "maximum": STORED_ID_MAX})
    api.spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer", "description": "a user token: `gridops users add NAME --role ROLE`"})

    api.register_blueprint(health_bp)
    api.register_blueprint(areas_bp, url_prefix="/api/v1")
    api.register_blueprint(basemap_bp, url_prefix="/api/v1")
    api.register_blueprint(auth_bp, url_prefix="/api/v1")
    api.register_blueprint(locate_bp, url_prefix="/api/v1")
    api.register_blueprint(boundaries_bp, url_prefix="/api/v1")
    api.register_blueprint(incidents_bp, url_prefix="/api/v1")
    api.register_blueprint(patrols_bp, url_prefix="/api/v1")
    api.register_blueprint(plans_bp, url_prefix="/api/v1")
    api.register_blueprint(registers_bp, url_prefix="/api/v1")
    api.register_blueprint(messages_bp, url_prefix="/api/v1")
    api.register_blueprint(stats_bp, url_prefix="/api/v1")
    api.register_blueprint(risk_bp, url_prefix="/api/v1")
    api.register_blueprint(stream_bp, url_prefix="/api/v1")
    api.register_blueprint(inbox_bp, url_prefix="/api/v1")
    api.register_blueprint(open311_bp, url_prefix=OPEN311_PREFIX)

    assets = Blueprint("swagger_assets", __name__)

    @assets.get("/api/docs/assets/<path:filename>")
    def swagger_asset(filename: str) -> Response:
        return send_from_directory(_swagger_assets(), filename, max_age=86400)

    app.register_blueprint(assets)
    app.register_blueprint(tiles_bp)
    return api
