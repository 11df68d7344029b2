"""gridops: the Flask application, its CLI and its use cases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build an app; configuration is read now (environment, then `config`), never at import."""
    from .api import register_api
    from .config import REPO_ROOT, load_config
    from .db import Database
    from .errors import register_error_handlers
    from .geocoding import Geocoder
    from .pages import pages
    from .registry import Registry
    from .streets import Streets
    from .stream import Wakeup

    settings = load_config(config)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        static_folder=str(REPO_ROOT / "service" / "static"),
        static_url_path="/static",
    )
    app.config.update(settings)
    if not app.config["SECRET_KEY"]:
        import secrets

        app.config["SECRET_KEY"] = secrets.token_hex(32)  # sessions then last as long as the process
    app.json.ensure_ascii = False  # Chinese names stay readable in JSON
    app.json.sort_keys = False
    db = Database(settings["DATABASE_URL"], echo=settings["SQL_ECHO"])
    app.extensions["gridops.db"] = db
    registry = Registry(
        db,
        snap_distance_m=settings["SNAP_DISTANCE_M"],
        cell_m=settings["GEOCODER_CELL_M"] or None,
        refresh_seconds=settings["GEOCODER_REFRESH_SECONDS"],
    )
    app.extensions["gridops.geocoder"] = Geocoder(registry, settings["PRIMARY_LAYER"])
    app.extensions["gridops.streets"] = Streets(db)
    app.extensions["gridops.wakeup"] = Wakeup(db, settings["STREAM_POLL_SECONDS"])
    register_api(app)
    register_error_handlers(app)  # after the API's own, which it replaces
    app.register_blueprint(pages)
    return app
