"""A lookup running while a new version is published gets one version or the other, never a mixture."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import numpy as np
from shapely.geometry import shape

from gridops.boundaries.versions import publish
from tests.conftest import make_app, sign_in


def test_lookups_during_publishes_see_one_whole_version(writable_demo_url, tmp_path):
    app = make_app(writable_demo_url, tmp_path, GEOCODER_REFRESH_SECONDS=0.0)
    geocoder = app.extensions["gridops.geocoder"]
    db = app.extensions["gridops.db"]
    doc = json.loads(sign_in(app).get("/api/v1/boundaries/export?format=geojson").data)
    # pick a few points spread over the city
    grids = [f for f in doc["features"] if f["properties"]["level"] == "grid"]
    points = [shape(f["geometry"]).representative_point() for f in grids[::8]]
    lon = np.array([p.x for p in points])
    lat = np.array([p.y for p in points])

    def tagged(n: int) -> object:
        path = tmp_path / f"v{n}.geojson"
        copy = json.loads(json.dumps(doc))
        for f in copy["features"]:
            f["properties"]["name"] = f"{f['properties']['name']}#v{n}"  # every area of version n says n
        path.write_text(json.dumps(copy, ensure_ascii=False), encoding="utf-8")
        return path

    files = {n: tagged(n) for n in range(2, 7)}
    mixtures, seen, errors = [], set(), []
    stop = threading.Event()

    def look() -> None:
        try:
            while not stop.is_set():
                version, placed = geocoder.locate_arrays(lon, lat)["grid"]
                names = [version.names[a] for row in placed.areas for a in row if a >= 0]
                tags = {name.rsplit("#v", 1)[1] if "#v" in name else "1" for name in names}
                seen.add(version.info.number)
                if tags != {str(version.info.number)}:
                    mixtures.append((version.info.number, tags))
        except Exception as exc:  # surfaced below; a thread's exception would vanish otherwise
            errors.append(exc)

    readers = [threading.Thread(target=look) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for path in files.values():
            with db.session() as session:
                publish(session, path, "grid", effective=datetime.now(UTC), accept_warnings=True, source=path.name)
            geocoder.registry.refresh()
    finally:
        stop.set()
        for t in readers:
            t.join(timeout=60)
    db.dispose()
    assert errors == []
    assert mixtures == []
    assert len(seen) >= 3  # the readers really ran across several publishes
    assert geocoder.locate_arrays(lon, lat)["grid"][0].info.number == 6
