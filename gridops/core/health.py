"""Is the service able to work: database reachable, spatial extension loaded, schema current
(for /healthz, `gridops db check` and the landing page)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from gridops.core.db import POSTGIS, SPATIALITE, Database
from gridops.core.errors import SchemaOutdated
from gridops.core.schema import head_revision, stored_revision

SPATIAL_LIBRARY = {POSTGIS: "PostGIS", SPATIALITE: "SpatiaLite"}


@dataclass(frozen=True)
class DbStatus:
    backend: str
    url: str
    server_version: str
    spatial_version: str | None  # None: PostGIS available on the server, not yet created in this database
    revision: str | None
    head: str
    round_trip_ms: float

    @property
    def current(self) -> bool:
        return self.revision == self.head


def db_status(db: Database) -> DbStatus:
    """Which backend, which spatial library, which schema revision, and a timed round trip."""
    with db.connect() as conn:
        t0 = time.perf_counter()
        conn.execute(text("SELECT 1")).scalar_one()
        rtt = (time.perf_counter() - t0) * 1000.0
        server, spatial, versioned = db.versions(conn)
        revision = stored_revision(conn, versioned)
    return DbStatus(
        backend=db.backend,
        url=db.display_url,
        server_version=str(server),
        spatial_version=spatial,
        revision=revision,
        head=head_revision(),
        round_trip_ms=round(rtt, 3),
    )


def health(db: Database) -> dict[str, Any]:
    """A report for /healthz and `gridops db check`; raises when the service cannot work."""
    st = db_status(db)
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
