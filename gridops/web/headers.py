"""The headers every answer carries: what a browser may run and load, and where a page may be framed.

The Content-Security-Policy forbids inline script: a page's own scripts come from /static, and
the few inline ones gridops generates (folium's map set-up, Swagger UI's start) carry the
request's nonce. So if a name or a description ever reached a page unescaped, the browser would
still not run it. Styles may be inline (Leaflet and folium position everything with them).
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request

# pages whose inline scripts are generated from templates with no user text in them
_SWAGGER_UI = "api-docs.openapi_swagger_ui"
_SCRIPT_TAG = re.compile(r"<script(?=[\s>])")


def nonce() -> str:
    """This request's script nonce (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    value: str = g.csp_nonce
    return value


def with_nonce(html: str) -> str:
    """Generated HTML (folium's, Swagger UI's) with this request's nonce on each of its script tags.
    Only for HTML whose user text is escaped where it is generated (folium writes data with tojson)."""
    return _SCRIPT_TAG.sub(f'<script nonce="{nonce()}"', html)


def _tile_origin() -> str:
    url = current_app.config["TILE_URL"] or ""
    parts = urlsplit(url.replace("{", "").replace("}", ""))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def policy() -> str:
    scripts = "'self'" + (f" 'nonce-{g.csp_nonce}'" if "csp_nonce" in g else "")
    tiles = _tile_origin()
    return "; ".join((
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob:{' ' + tiles if tiles else ''}",
        "connect-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def secure(response: Response) -> Response:
    if request.endpoint == _SWAGGER_UI and response.mimetype == "text/html" and not response.is_streamed:
        response.set_data(with_nonce(response.get_data(as_text=True)))
    response.headers["Content-Security-Policy"] = policy()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"  # frame-ancestors, for browsers that predate it
    response.headers["Referrer-Policy"] = "same-origin"
    if current_app.config["HTTPS"]:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def install(app: Flask) -> None:
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"  # the page session never rides a cross-site POST
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["HTTPS"])
    app.after_request(secure)
