"""Photos: served to those who may see the incident (thumbnails for lists), never to others; a resolution's
photos checked against the incident by their EXIF and their hash (虚假办结), flagged for the command centre."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

from PIL import Image, ImageDraw
from sqlalchemy import select

from gridops.core.models import StreamEvent
from gridops.incidents.photos import THUMBNAIL_PX, thumbnail_unavailable
from tests.conftest import TEST_POINT

NEAR = {"lon": round(TEST_POINT[0] + 0.0001, 7), "lat": TEST_POINT[1]}
NO_INCIDENT = 999_999_999


def _dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    return float(d), float(m), round((value - d - m / 60) * 3600, 4)


def jpeg(seed: int = 0, *, taken: str | None = None, offset: str | None = None, where: tuple[float, float] | None = None,
         size: tuple[int, int] = (1200, 800)) -> bytes:
    """A real JPEG (a camera's size, something drawn on it so each seed differs), with the EXIF asked for."""
    im = Image.new("RGB", size, (40 + seed * 20 % 200, 120, 200))
    ImageDraw.Draw(im).rectangle((100 + seed * 7, 100, 600, 500), fill=(250, 240, 10))
    exif = Image.Exif()
    if taken:
        exif[0x8769] = {0x9003: taken, **({0x9011: offset} if offset else {})}
    if where:
        lon, lat = where
        exif[0x8825] = {1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)}
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png_with_alpha() -> bytes:
    im = Image.new("RGBA", (640, 480), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((100, 100, 400, 400), fill=(255, 0, 0, 255))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 256  # the header an iPhone writes; no decoder here


def report(city, category="dispute.neighbour", photos=(), who="resident"):
    data = {"category": category, "lon": str(TEST_POINT[0]), "lat": str(TEST_POINT[1]), "description": "楼道有问题",
            "photo": [(io.BytesIO(p), name) for name, p in photos]}
    res = city.client.post("/api/v1/incidents", data=data, headers=city.h(who), content_type="multipart/form-data")
    assert res.status_code == 201 and res.json["status"] == "reported", res.json
    return res.json["id"]


def to_the_worker(city, iid):
    """Accepted, assessed and dispatched to the test grid's worker by the command centre; the worker checks in."""
    for who, action, body in (("command_centre", "accept", {}), ("command_centre", "assess", {"note": "一般"}),
                              ("command_centre", "dispatch", {"worker": city.workers["grid_worker"]}), ("grid_worker", "check_in", NEAR)):
        res = city.client.post(f"/api/v1/incidents/{iid}/{action}", json=body, headers=city.h(who))
        assert res.status_code == 200, (action, res.json)


def resolve(city, iid, *photos):
    res = city.client.post(f"/api/v1/incidents/{iid}/resolve", headers=city.h("grid_worker"), content_type="multipart/form-data",
                           data={"note": "已处理", "photo": [(io.BytesIO(p), f"fix{k}.jpg") for k, p in enumerate(photos)]})
    assert res.status_code == 200 and res.json["status"] == "resolved", res.json  # a flag never refuses the resolution
    return res


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def get(city, url, who, **headers):
    return city.client.get(url, headers={**(city.h(who) if who else {}), **headers})


# --- point 5: photos served to those allowed to see the incident ------------------------------------------


def test_the_verifier_sees_the_report_and_resolution_photos_and_nobody_else_does(city):
    before, after, drawing = jpeg(1), jpeg(2), png_with_alpha()
    iid = report(city, photos=[("before.jpg", before), ("drawing.png", drawing)])
    to_the_worker(city, iid)
    resolve(city, iid, after)

    one = get(city, f"/api/v1/incidents/{iid}", "grid_leader").json
    assert [(p["step"], p["content_type"]) for p in one["photos"]] == [
        ("report", "image/jpeg"), ("report", "image/png"), ("resolve", "image/jpeg")]
    assert one["flags"] == []  # a fresh photo without EXIF says nothing against the resolution
    by_step = {p["step"]: p for p in reversed(one["photos"])}  # the first photo of each step
    res = get(city, by_step["resolve"]["url"], "grid_leader")
    assert res.status_code == 200 and res.mimetype == "image/jpeg" and sha(res.data) == sha(after)  # the evidence, byte for byte
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Cache-Control"].startswith("private") and "public" not in res.headers["Cache-Control"]
    assert res.headers["ETag"] == f'"{by_step["resolve"]["sha256"]}"'
    again = get(city, by_step["resolve"]["url"], "grid_leader", **{"If-None-Match": res.headers["ETag"]})
    assert again.status_code == 304 and not again.data

    thumbs = {p["content_type"]: p["thumbnail_url"] for p in one["photos"]}
    for content_type, url in thumbs.items():
        small = get(city, url, "grid_leader")
        assert small.status_code == 200 and small.mimetype == "image/jpeg" and small.headers["Cache-Control"].startswith("private")
        im = Image.open(io.BytesIO(small.data))
        assert max(im.size) == THUMBNAIL_PX, content_type
        assert len(small.data) < len(before)
    kept = sorted(p.name for p in (Path(city.app.config["INSTANCE_PATH"]) / "thumbs").rglob("*.jpg"))
    assert len(kept) == 2  # made once and kept (two distinct photos asked for)
    assert sha(get(city, thumbs["image/jpeg"], "grid_leader").data) == sha(get(city, thumbs["image/jpeg"], "command_centre").data)

    # the reporter follows their report, photos included; the list names the photos for the worker's phone
    assert sha(get(city, by_step["report"]["url"], "resident").data) == sha(before)
    listed = get(city, "/api/v1/incidents?status=all&limit=50000", "grid_worker").json["features"]
    mine = next(f for f in listed if f["id"] == iid)["properties"]
    assert [p["step"] for p in mine["photos"]] == ["report", "report", "resolve"] and mine["photos"][0]["thumbnail_url"]

    # anyone who may not see the incident: the same 404 as for an incident that does not exist
    for who in ("other_resident", "stranger_worker", "fire", "planner"):
        for url in (by_step["report"]["url"], by_step["report"]["thumbnail_url"]):
            refused = get(city, url, who)
            nowhere = get(city, url.replace(f"/incidents/{iid}/", f"/incidents/{NO_INCIDENT}/"), who)
            assert refused.status_code == 404, (who, url)
            assert refused.json["type"] == nowhere.json["type"] and refused.data.replace(str(iid).encode(), b"ID") == \
                nowhere.data.replace(str(NO_INCIDENT).encode(), b"ID")
    assert get(city, by_step["report"]["url"], None).status_code == 401
    # a photo of another incident is not reached through this one
    other = report(city, category="order.noise", photos=[("x.jpg", jpeg(3))])
    other_sha = get(city, f"/api/v1/incidents/{other}", "command_centre").json["photos"][0]["sha256"]
    assert get(city, f"/api/v1/incidents/{iid}/photos/{other_sha}", "command_centre").status_code == 404


def test_a_heic_photo_is_served_as_sent_and_its_missing_thumbnail_says_why(city):
    iid = report(city, photos=[("IMG_0001.HEIC", HEIC)])
    photo = get(city, f"/api/v1/incidents/{iid}", "command_centre").json["photos"][0]
    res = get(city, photo["url"], "command_centre")
    assert res.status_code == 200 and res.mimetype == "image/heic" and sha(res.data) == sha(HEIC)
    if thumbnail_unavailable("image/heic") is None:  # a HEIC decoder is installed: nothing more to show here
        return
    assert photo["thumbnail_url"] is None and "HEIC" in photo["thumbnail_unavailable"]
    refused = get(city, f"{photo['url']}/thumbnail", "command_centre")
    assert refused.status_code == 404 and refused.json["type"] == "/problems/no-thumbnail"
    assert "HEIC" in refused.json["detail"] and "original" in refused.json["detail"]


def test_open311_media_url_is_the_first_photo_for_a_key_and_null_for_the_public(city):
    first = jpeg(5)
    iid = report(city, category="environment.garbage", photos=[("a.jpg", first), ("b.jpg", jpeg(6))])
    keyed = city.client.get(f"/open311/v2/requests/{iid}.json?api_key={city.tokens['command_centre']}").json[0]
    assert keyed["media_url"].startswith("http://") and "/api/v1/incidents/" in keyed["media_url"]
    assert sha(city.client.get(keyed["media_url"], headers=city.h("command_centre")).data) == sha(first)
    listed = city.client.get(f"/open311/v2/requests.json?service_request_id={iid}&api_key={city.tokens['grid_worker']}").json
    assert listed[0]["media_url"] == keyed["media_url"]
    public = city.client.get(f"/open311/v2/requests/{iid}.json").json[0]
    assert public["media_url"] is None  # faces, plates, EXIF positions: not for the anonymous view
    xml = city.client.get(f"/open311/v2/requests/{iid}.xml?api_key={city.tokens['command_centre']}").get_data(as_text=True)
    assert f"<media_url>{keyed['media_url']}</media_url>" in xml


# --- point 4: resolution photos checked against the incident (虚假办结) ---------------------------------------


def test_resolution_photos_that_do_not_fit_are_flagged_for_the_command_centre(city):
    reported = city.clock["t"]  # 2026-11-23 10:00 in Shanghai
    lon, lat = TEST_POINT
    early = report(city, "dispute.neighbour")
    far = report(city, "order.noise")
    first, second = report(city, "livelihood.repair", who="other_resident"), report(city, "environment.garbage")
    honest = report(city, "dispute.property")
    for iid in (early, far, first, second, honest):
        to_the_worker(city, iid)
    city.clock["t"] = reported + timedelta(hours=2)

    resolve(city, early, jpeg(10, taken="2026:11:22 09:00:00"))  # no offset: Shanghai time, the day before the report
    resolve(city, far, jpeg(11, taken="2026:11:23 11:30:00", offset="+08:00", where=(lon + 0.0104, lat)))  # ~1 km east
    reused = jpeg(12)
    resolve(city, first, reused)
    resolve(city, second, reused)  # the very same photo closes another incident
    # taken at 03:30 UTC = 11:30 in Shanghai (the offset is honoured), 20 m away: fits
    resolve(city, honest, jpeg(13, taken="2026:11:23 03:30:00", offset="+00:00", where=(lon + 0.0002, lat)))

    def kinds(iid, who="command_centre"):
        return [f["kind"] for f in get(city, f"/api/v1/incidents/{iid}", who).json["flags"]]

    assert kinds(early) == ["photo_before_report"]
    assert kinds(far) == ["photo_far_away"]
    assert kinds(first) == [] and kinds(second) == ["photo_reused"]
    assert kinds(honest) == []
    far_flag = get(city, f"/api/v1/incidents/{far}", "command_centre").json["flags"][0]
    assert 950 < far_flag["distance_m"] < 1050 and far_flag["limit_m"] == 300 and "米" in far_flag["message"]

    # the command centre's list: newest first, each naming its incident and photo; the reuse names the other incident
    listed = get(city, "/api/v1/flags", "command_centre").json
    assert listed["total"] == 3
    assert [(f["incident"], f["kind"]) for f in listed["flags"]] == [
        (second, "photo_reused"), (far, "photo_far_away"), (early, "photo_before_report")]
    assert listed["flags"][0]["incidents"] == [first] and listed["flags"][0]["incident_status"] == "resolved"
    assert sha(get(city, listed["flags"][0]["photo_url"], "command_centre").data) == sha(reused)
    assert [f["incident"] for f in get(city, "/api/v1/flags?kind=photo_far_away", "command_centre").json["flags"]] == [far]
    assert get(city, "/api/v1/flags?kind=blurry", "command_centre").json["field"] == "kind"
    # the ground's leader sees them too; a grid worker and a resident do not list flags
    assert get(city, "/api/v1/flags", "grid_leader").json["total"] == 3
    assert get(city, "/api/v1/flags", "grid_worker").status_code == 403
    assert get(city, "/api/v1/flags", "resident").status_code == 403
    assert get(city, "/api/v1/incidents?status=all&limit=50000", "command_centre").json["features"][0]["properties"]["flags"] >= 0

    # the history says so right after the resolution, and the live feed carries it; it names no other incident
    events = get(city, f"/api/v1/incidents/{second}/history", "command_centre").json["events"]
    assert [e["action"] for e in events[-2:]] == ["resolve", "flag"]
    assert events[-1]["data"]["flags"][0]["kind"] == "photo_reused" and "incidents" not in events[-1]["data"]["flags"][0]
    assert "办结照片存疑" in events[-1]["note"]
    with city.session() as s:
        streamed = [e.data["action"] for e in s.scalars(select(StreamEvent).where(StreamEvent.incident_id == second))]
    assert streamed[-2:] == ["resolve", "flag"]
    # the reporter of the second incident sees the flag, but not which other incident (someone else's report) it resolved
    seen_by_reporter = get(city, f"/api/v1/incidents/{second}", "resident").json["flags"]
    assert seen_by_reporter[0]["kind"] == "photo_reused" and seen_by_reporter[0]["incidents"] == []
    # the flags do not stop the loop: the verifier still verifies (or returns) as they judge
    assert city.client.post(f"/api/v1/incidents/{far}/return", json={"note": "照片不在现场，请重新处理"},
                            headers=city.h("grid_leader")).status_code == 200


def test_a_photo_from_the_future_is_flagged_and_the_distance_is_configurable(city):
    city.app.config["PHOTO_MAX_DISTANCE_M"] = 2000.0
    iid = report(city)
    to_the_worker(city, iid)
    lon, lat = TEST_POINT
    resolve(city, iid, jpeg(20, taken="2026:11:24 10:00:00", where=(lon + 0.0104, lat)))  # tomorrow; 1 km is within 2 km
    assert [f["kind"] for f in get(city, f"/api/v1/incidents/{iid}", "command_centre").json["flags"]] == ["photo_in_future"]


def test_what_a_photo_says_of_itself_is_read_carefully():
    """EXIF read as cameras write it; what does not parse says nothing, never an error."""
    from datetime import UTC, datetime

    from gridops.incidents.photos import taken

    t = taken(jpeg(30, taken="2026:11:23 03:30:00", offset="+00:00", where=(104.1003, 30.6203)), "Asia/Shanghai")
    assert t.at == datetime(2026, 11, 23, 3, 30, tzinfo=UTC) and abs(t.lon - 104.1003) < 1e-6 and abs(t.lat - 30.6203) < 1e-6
    local = taken(jpeg(31, taken="2026:11:23 11:30:00"), "Asia/Shanghai").at
    assert local is not None and local.astimezone(UTC) == datetime(2026, 11, 23, 3, 30, tzinfo=UTC)  # no offset: the city's time
    im, out = Image.new("RGB", (64, 64)), io.BytesIO()
    exif = Image.Exif()
    exif[0x8769] = {0x9003: "0000:00:00 00:00:00"}  # what some cameras write for "unknown"
    exif[0x8825] = {1: "S", 2: (33.0, 52.0, 0.0), 3: "W", 4: (151.0, 12.0, 0.0)}
    im.save(out, "JPEG", exif=exif)
    odd = taken(out.getvalue(), "Asia/Shanghai")
    assert odd.at is None and odd.lat == -33 - 52 / 60 and odd.lon == -151.2
    assert taken(jpeg(32, where=(0.0, 0.0)), "Asia/Shanghai").lon is None  # 0,0: a phone with no fix
    assert taken(b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 64, "Asia/Shanghai") == taken(HEIC, "Asia/Shanghai")
    assert taken(HEIC, "Asia/Shanghai").at is None
