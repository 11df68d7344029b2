"""Text answers gzipped for a browser that takes gzip (a phone on a weak link); the live feed and photos as they are."""

from __future__ import annotations

import gzip

from gridops.web.app import STATIC_DIR

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def test_a_script_is_sent_gzipped_to_a_browser_that_takes_it_and_plain_to_one_that_does_not(client):
    plain = client.get("/static/vendor/leaflet/leaflet.js")
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.data == (STATIC_DIR / "vendor/leaflet/leaflet.js").read_bytes()
    packed = client.get("/static/vendor/leaflet/leaflet.js", headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 2 and int(packed.headers["Content-Length"]) == len(packed.data)
    assert packed.headers["ETag"].startswith("W/")  # the same script, not the same bytes
    again = client.get("/static/vendor/leaflet/leaflet.js", headers={**GZIP, "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304  # revalidated: nothing sent


def test_json_is_gzipped_but_small_answers_images_and_the_live_feed_are_not(client, admin_client):
    areas = client.get("/api/v1/areas?level=grid", headers=GZIP)
    assert areas.headers["Content-Encoding"] == "gzip" and gzip.decompress(areas.data).startswith(b"{")
    small = client.get("/healthz", headers=GZIP)
    assert len(small.get_data()) < 1024 or small.headers.get("Content-Encoding") == "gzip"
    icon = client.get("/static/icons/worker-192.png", headers=GZIP)
    assert icon.status_code == 200 and "Content-Encoding" not in icon.headers
    feed = admin_client.get("/api/v1/stream", headers=GZIP, buffered=False)
    try:
        assert feed.mimetype == "text/event-stream" and "Content-Encoding" not in feed.headers
    finally:
        feed.close()
