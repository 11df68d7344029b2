"""Is the service able to work: database reachable, spatial extension loaded, schema current."""

from __future__ import annotations

from typing import Any

from gridops.core.db import POSTGIS, Database
from gridops.core.errors import SchemaOutdated

SPATIAL_LIBRARY = {POSTGIS: "PostGIS", "spatialite": "SpatiaLite"}


def health(db: Database) -> dict[str, Any]:
    """A report for /healthz and `gridops db check`; raises when the service cannot work."""
    st = db.status()
    report = {
        "status": "ok",
        "backend": st.backend,
        "spatial_library": SPATIAL_LIBRARY[st.backend],
        "spatial_version": st.spatial_version,
        "database": {"url": st.url, "server_version": st.server_version, "round_trip_ms": st.round_trip_ms},
        "schema": {"revision": st.revision, "head": st.head, "current": st.current},
    }
    if not st.current:
        raise SchemaOutdated(
            f"the database schema is at revision {st.revision or 'none'} but the code needs {st.head}: run `gridops db upgrade`.",
            backend=st.backend,
            spatial_library=report["spatial_library"],
            spatial_version=st.spatial_version,
        )
    return report
