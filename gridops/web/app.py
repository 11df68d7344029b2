"""The app factory: configuration is read when an app is made, never at import, so tests and
several apps in one process each have their own (Flask's tutorial does the same)."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy.orm import configure_mappers

from gridops.access.cache import Principals
from gridops.boundaries.geocoder import Geocoder
from gridops.boundaries.registry import Registry
from gridops.core.config import STATIC_DIR, load_config
from gridops.core.db import Database
from gridops.incidents.intake.writer import IntakeQueue
from gridops.incidents.stream import Wakeup
from gridops.reference.data import References, office_hours_setting
from gridops.web import basemap, compress, guard, headers, i18n, limits
from gridops.web.api import ERRORS_BY_PREFIX, register_api
from gridops.web.context import use_case_context
from gridops.web.pages import pages
from gridops.web.problems import register_error_handlers
from gridops.web.request import refuse_malformed_json, refuse_nul_characters

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build an app; configuration is read now (environment, then `config`), never at import."""
    settings = load_config(config)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        static_folder=str(STATIC_DIR),
        static_url_path="/static",
    )
    app.config.update(settings)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(settings["INSTANCE_PATH"])
    app.session_interface = _PageSession()
    compress.install(app)  # first: it runs last, on the answer every other hook has finished
    headers.install(app)
    i18n.install(app)
    basemap.install(app)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese names stay readable in JSON
    app.json.sort_keys = False  # type: ignore[attr-defined]
    db = Database(settings["DATABASE_URL"], echo=settings["SQL_ECHO"])
    app.extensions["gridops.db"] = db
    # the ORM's mappers set up now, once, not by the first requests of a worker's threads at the same moment
    # (they raced there: AttributeError 'strategy' on every request of a gunicorn worker just started)
    configure_mappers()
    registry = Registry(
        db,
        snap_distance_m=settings["SNAP_DISTANCE_M"],
        cell_m=settings["GEOCODER_CELL_M"] or None,
        refresh_seconds=settings["GEOCODER_REFRESH_SECONDS"],
    )
    app.extensions["gridops.geocoder"] = Geocoder(registry, settings["PRIMARY_LAYER"])
    app.extensions["gridops.references"] = References(office_hours_setting(settings["OFFICE_HOURS"]))
    app.extensions["gridops.principals"] = Principals()
    app.extensions["gridops.intake"] = IntakeQueue(db, lambda: use_case_context(app))
    app.extensions["gridops.wakeup"] = Wakeup(db, settings["STREAM_POLL_SECONDS"])
    register_api(app)
    app.before_request(refuse_nul_characters)
    app.before_request(refuse_malformed_json)
    register_error_handlers(app, ERRORS_BY_PREFIX)  # after the API's own, which it replaces
    app.register_blueprint(pages)
    guard.install(app)  # last: every route is registered, and each must be in the policy table
    limits.install(app)
    return app


def _instance_secret(instance_path: str) -> str:
    """The key that signs page sessions when none is configured: made once, kept in the instance
    folder (0600), so every worker process and every restart signs alike."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    for _ in range(50):  # the maker may still be writing it
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty: delete it and start again")


class _PageSession(SecureCookieSessionInterface):
    """Flask's signed-cookie session, opened only when the request carries one: an API call with a
    bearer token (nearly every request) skips building a signer for a cookie it does not have."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)
