from __future__ import annotations

from flask import Blueprint, jsonify

from ..health import health
from ..web import database

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(health(database()))
