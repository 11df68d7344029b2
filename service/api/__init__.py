"""The HTTP API: thin blueprints that parse, call one application function, answer."""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from .areas import bp as areas_bp
    from .boundaries import bp as boundaries_bp
    from .health import bp as health_bp
    from .locate import bp as locate_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(areas_bp, url_prefix="/api/v1")
    app.register_blueprint(locate_bp, url_prefix="/api/v1")
    app.register_blueprint(boundaries_bp, url_prefix="/api/v1")
