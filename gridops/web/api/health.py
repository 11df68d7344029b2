from __future__ import annotations

from typing import Any

from gridops.core.health import health
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.health import Health
from gridops.web.request import database

bp = Blueprint("health", __name__, description="Is the service able to work")


@bp.get("/healthz")
@bp.response(200, Health)
@problem_response(bp, 503, "database unreachable, spatial extension missing, or schema behind")
def healthz() -> dict[str, Any]:
    """Backend, spatial library and version, a timed database round trip, schema revision."""
    return health(database())
