from __future__ import annotations

from typing import Any

from gridops.core.health import health
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.common import problem_response
from gridops.web.api.schemas.health import Health
from gridops.web.request import database, principal

bp = Blueprint("health", __name__, description="Is the service able to work")


@bp.get("/healthz")
@bp.response(200, Health)
@problem_response(bp, 503, "database unreachable, spatial extension missing, or schema behind")
def healthz() -> dict[str, Any]:
    """Backend, spatial library, a timed database round trip, schema revision; where the database is
    and which server versions run, only to staff (an attacker would like to know)."""
    report = health(database())
    who = principal()
    if who is None or not who.is_staff:
        report["database"] = {"round_trip_ms": report["database"]["round_trip_ms"]}
        report.pop("spatial_version", None)
    return report
