"""What the use cases need from the running app, read off it the same way for a request,
the CLI and the sweeper."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request

from gridops.core.db import Database
from gridops.incidents.context import Context


def use_case_context(app: Flask | None = None) -> Context:
    """The app's geocoder, reference data, signed-in users and settings (default: the current app)."""
    app = app or current_app
    cfg = app.config
    return Context(app.extensions["gridops.geocoder"], cfg["TIMEZONE"], cfg["INSTANCE_PATH"], app.extensions["gridops.references"],
                   app.extensions["gridops.principals"], checkin_max_m=cfg["CHECKIN_MAX_DISTANCE_M"],
                   reopen_days=cfg["REOPEN_DAYS"], photo_max_distance_m=cfg["PHOTO_MAX_DISTANCE_M"],
                   photo_clock_skew_minutes=cfg["PHOTO_CLOCK_SKEW_MINUTES"],
                   public_url=cfg["PUBLIC_URL"] or (request.url_root if has_request_context() else ""))


def app_database(app: Flask | None = None) -> Database:
    db: Database = (app or current_app).extensions["gridops.db"]
    return db
