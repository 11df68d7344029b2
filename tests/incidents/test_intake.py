"""POST /api/v1/incidents: placed, routed, stored whole or not at all."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gridops.geo.crs import wgs84_to_gcj02

from gridops.core.models import Attachment, Incident, IncidentEvent, IncidentFollower, Task
from tests.conftest import TEST_GRID, TEST_POINT

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def counts(city) -> tuple[int, int, int]:
    with city.session() as s:
        return (s.scalar(select(func.count(Incident.id))), s.scalar(select(func.count(IncidentEvent.id))),
                s.scalar(select(func.count(Attachment.id))))


def post(city, who="resident", **body):
    body.setdefault("category", "dispute.neighbour")
    if not any(k in body for k in ("building", "household", "address")):
        body.setdefault("lon", TEST_POINT[0])
        body.setdefault("lat", TEST_POINT[1])
    headers = {**city.h(who), **body.pop("headers", {})}
    return city.client.post("/api/v1/incidents", json=body, headers=headers)


def test_a_report_is_placed_routed_and_answered_in_full(city):
    res = post(city, description="楼上漏水", reporter_contact="13812345678")
    assert res.status_code == 201, res.json
    body = res.json
    assert body["grid"]["code"] == TEST_GRID and body["micro_grid"]["code"].startswith(TEST_GRID)
    assert body["boundary_version"]["number"] == 1
    assert body["category"] == {"code": "dispute.neighbour", "name": "邻里纠纷", "urgency": "normal",
                                "time_limit_minutes": 4320, "working_time": False, "accept_limit_minutes": 240,
                                "verify_limit_minutes": 2880}
    assert body["due_at"].startswith("2026-11-26T02:00:00")  # three calendar days after Monday 10:00 (UTC+8)
    assert body["accept_due_at"].startswith("2026-11-23T06:00:00")  # to be accepted within four hours
    assert body["assignee"]["code"] == city.workers["grid_worker"]
    assert body["routing_reason"] == "grid worker on shift"
    with city.session() as s:
        incident = s.get(Incident, body["id"])
        assert incident.status == "reported" and incident.boundary_version_id is not None
        events = list(s.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)))
        assert [e.action for e in events] == ["report"]
        assert s.scalar(select(func.count(Task.id)).where(Task.incident_id == incident.id)) == 1


def test_working_time_limits_skip_the_night_and_the_weekend(city):
    city.clock["t"] = city.clock["t"].replace(day=27, hour=17)  # Friday 17:00
    body = post(city, category="livelihood.repair").json  # five working days
    assert body["due_at"].startswith("2026-12-04T09:00:00")  # the next Friday 17:00 local


@pytest.mark.parametrize("crs", ["gcj02", "wgs84"])
def test_the_original_coordinates_are_kept(city, crs):
    x, y = wgs84_to_gcj02(*TEST_POINT) if crs == "gcj02" else TEST_POINT
    body = post(city, lon=float(x), lat=float(y), crs=crs).json
    assert body["original"] == {"x": float(x), "y": float(y), "crs": crs}
    assert abs(body["location"]["lon"] - TEST_POINT[0]) < 1e-6 and body["grid"]["code"] == TEST_GRID


def test_a_door_code_is_a_location(city):
    with city.session() as s:
        from gridops.core.models import Building, Household

        code = s.scalar(select(Household.code).join(Building).where(Building.households > 10).limit(1))
    body = post(city, household=code, channel="qr").json
    assert body["location_status"] == "inside" and body["grid"]["code"]


def test_retrying_with_the_same_key_returns_the_first_answer_and_stores_one_incident(city):
    before = counts(city)
    first = post(city, headers={"Idempotency-Key": "k-123"}, description="first")
    again = post(city, headers={"Idempotency-Key": "k-123"}, description="first")
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert counts(city)[0] == before[0] + 1
    other = post(city, headers={"Idempotency-Key": "k-123"}, description="something else")
    assert other.status_code == 409 and other.json["field"] == "Idempotency-Key"
    assert counts(city)[0] == before[0] + 1


def test_idempotency_keys_are_each_users_own(city):
    """Another user's same key is a new report of theirs: neither replays nor blocks it."""
    mine = post(city, headers={"Idempotency-Key": "shared-key"}, description="楼道堆物")
    theirs = city.client.post("/api/v1/incidents", json={"category": "dispute.neighbour", "lon": TEST_POINT[0], "lat": TEST_POINT[1],
                                                         "description": "另一件事"},
                              headers={**city.h("other_resident"), "Idempotency-Key": "shared-key"})
    assert mine.status_code == theirs.status_code == 201 and mine.json["id"] != theirs.json["id"]


def test_concurrent_retries_with_one_key_store_one_incident(city):
    before = counts(city)[0]
    answers = []

    def send():
        client = city.app.test_client()
        answers.append(client.post("/api/v1/incidents", json={"category": "order.noise", "lon": TEST_POINT[0], "lat": TEST_POINT[1]},
                                   headers={**city.h("resident"), "Idempotency-Key": "race"}))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {a.status_code for a in answers} == {201}
    assert len({a.json["id"] for a in answers}) == 1
    assert counts(city)[0] == before + 1


def test_a_duplicate_is_merged_into_the_open_incident_and_its_reporter_follows_it(city):
    first = post(city, category="order.noise").json
    dup = post(city, category="order.noise", lon=TEST_POINT[0] + 0.0003, reporter_contact="13900001111").json
    assert dup["status"] == "merged" and dup["merged_into"] == first["id"]
    assert dup["duplicates"][0]["id"] == first["id"] and 20 < dup["duplicates"][0]["distance_m"] < 40
    with city.session() as s:
        follower = s.scalar(select(IncidentFollower).where(IncidentFollower.incident_id == first["id"]))
        assert follower.contact == "13900001111" and follower.source_incident_id == dup["id"]
    far = post(city, category="order.noise", lon=TEST_POINT[0] + 0.003).json  # ~290 m: beyond 100 m
    assert far["status"] == "reported"
    other = post(city, category="dispute.neighbour").json  # another category is not a duplicate
    assert other["status"] == "reported"
    split = city.client.post(f"/api/v1/incidents/{dup['id']}/split", json={"note": "不是同一件事"}, headers=city.h("command_centre"))
    assert split.status_code == 200 and split.json["status"] == "reported" and split.json["assignee"]


def test_photos_are_checked_by_content_and_stored_by_hash(city):
    def send(*photos):
        data = {"category": "hazard.ebike_charging", "lon": str(TEST_POINT[0]), "lat": str(TEST_POINT[1]),
                "photo": [(io.BytesIO(p), name) for name, p in photos]}
        return city.client.post("/api/v1/incidents", data=data, headers=city.h("resident"), content_type="multipart/form-data")

    res = send(("a.jpg", JPEG), ("b.png", PNG))
    assert res.status_code == 201, res.json
    assert [p["content_type"] for p in res.json["photos"]] == ["image/jpeg", "image/png"]
    stored = Path(city.app.config["INSTANCE_PATH"]) / "photos"
    files = sorted(p.name for p in stored.rglob("*.*"))
    assert len(files) == 2 and all(len(f.split(".")[0]) == 64 for f in files)

    before, before_files = counts(city), len(list(stored.rglob("*.*")))
    for photos, status in (
        ((("fake.jpg", b"GIF89a not really a jpeg"),), 400),  # judged by content, not name
        ((("ok.jpg", JPEG + b"1"), ("empty.png", b"")), 400),  # one bad photo refuses the report
        (tuple((f"p{k}.jpg", JPEG + bytes([k])) for k in range(7)), 400),  # too many
        ((("huge.jpg", JPEG + b"\x00" * (8 * 1024 * 1024)),), 413),
    ):
        res = send(*photos)
        assert res.status_code == status, res.json
        assert res.json["field"] == "photo"
    assert counts(city) == before and len(list(stored.rglob("*.*"))) == before_files  # nothing half-made


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"category": "no.such"}, 400, "category"),
        ({"lon": "east"}, 400, "lon"),
        ({"lat": 300}, 400, "lat"),
        ({"lon": 300}, 400, "lon"),
        ({"channel": "pigeon"}, 400, "channel"),
        ({"surprise": 1}, 400, "surprise"),
        ({"description": "x" * 5000}, 400, "description"),
    ],
)
def test_bad_input_gets_a_problem_naming_the_field(city, change, status, field):
    body = {"category": "order.noise", "lon": TEST_POINT[0], "lat": TEST_POINT[1], **change}
    res = city.client.post("/api/v1/incidents", json=body, headers=city.h("resident"))
    assert res.status_code == status, res.json
    assert res.mimetype == "application/problem+json" and res.json["field"] == field


def test_an_unknown_door_code_or_half_a_position_is_named(city):
    res = city.client.post("/api/v1/incidents", json={"category": "order.noise", "building": "NOPE"}, headers=city.h("resident"))
    assert res.status_code == 404 and res.json["field"] == "building"
    res = city.client.post("/api/v1/incidents", json={"category": "order.noise", "lon": 104.1}, headers=city.h("resident"))
    assert res.status_code == 400 and res.json["field"] == "lat"


def test_outside_missing_location_wrong_type_oversized(city):
    far = post(city, lon=104.3, lat=30.62)
    assert far.status_code == 422 and far.json["distance_m"] > 15_000
    nowhere = city.client.post("/api/v1/incidents", json={"category": "order.noise"}, headers=city.h("resident"))
    assert nowhere.status_code == 400 and nowhere.json["field"] == "location"
    xml = city.client.post("/api/v1/incidents", data="<report/>", content_type="application/xml", headers=city.h("resident"))
    assert xml.status_code == 415
    big = city.client.post("/api/v1/incidents", data=b"{" + b" " * (33 * 1024 * 1024) + b"}", content_type="application/json",
                           headers=city.h("resident"))
    assert big.status_code == 413
    anonymous = city.client.post("/api/v1/incidents", json={"category": "order.noise", "lon": 104.1, "lat": 30.62})
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = city.client.post("/api/v1/incidents", json={}, headers={"Authorization": "Bearer gro_nope"})
    assert wrong.status_code == 401


def test_reports_that_arrive_together_are_stored_together_each_decided_as_if_alone(city):
    """The intake writer stores a batch in one transaction: a later report merges into an earlier one
    of the same batch, work handed out counts for the next, and every report has its first event."""
    from gridops.access.cache import Principals
    from gridops.incidents.idempotency import check_key
    from gridops.incidents.intake.submission import NewReport, Submission
    from gridops.incidents.intake.take import take_in
    from gridops.web.context import use_case_context

    ctx = use_case_context(city.app)
    with city.session() as s:
        who = Principals().principal(s, city.tokens["resident"])
    near = (TEST_POINT[0] + 0.0002, TEST_POINT[1])  # ~20 m away: a duplicate of the first
    subs = [Submission(NewReport("dispute.neighbour", "app", "漏水", *TEST_POINT), who, key=check_key("batch-1", who.user_id)),
            Submission(NewReport("dispute.neighbour", "app", "又漏水", *near), who, key=check_key("batch-2", who.user_id)),
            Submission(NewReport("hazard.ebike_charging", "qr", "楼道充电", *TEST_POINT, photos=[]), who),
            Submission(NewReport("no.such.category", "app", None, *TEST_POINT), who)]
    with city.session() as s:
        out = take_in(s, ctx, subs)
    first, dupe, other, bad = out
    assert bad.error is not None and bad.error.details["field"] == "category"
    a, b, c = first.result(), dupe.result(), other.result()
    assert a["status"] == "reported" and b["status"] == "merged" and b["merged_into"] == a["id"]
    assert b["duplicates"][0]["id"] == a["id"] and c["status"] == "reported"
    with city.session() as s:
        for answer, actions in ((a, ["report"]), (b, ["report", "merge"]), (c, ["report"])):
            events = s.execute(select(IncidentEvent.action, IncidentEvent.location).where(IncidentEvent.incident_id == answer["id"])
                               .order_by(IncidentEvent.seq)).all()
            assert [e.action for e in events] == actions and events[0].location is not None
        stored = s.get(Incident, b["id"])
        assert stored.merged_into_id == a["id"] and stored.location is not None and stored.tier == "grid"
        from gridops.geo.hexes import cell_of

        first = s.get(Incident, a["id"])  # what the risk maps count by: the cell and the local day
        assert first.h3_cell == cell_of(*TEST_POINT) and first.reported_day.isoformat() == "2026-11-23"
        assert s.scalar(select(func.count(IncidentFollower.id)).where(IncidentFollower.incident_id == a["id"])) == 1
        assert s.scalar(select(func.count(Task.id)).where(Task.incident_id.in_([a["id"], c["id"]]))) == 2
    again = post(city, headers={"Idempotency-Key": "batch-2"}, lon=near[0], lat=near[1], description="又漏水")
    assert again.status_code in (201, 409)  # the key is stored: a replay, never a second incident
    with city.session() as s:
        assert s.scalar(select(func.count(Incident.id)).where(Incident.description == "又漏水")) == 1


def test_the_writer_keeps_a_connection_and_recovers_when_the_server_drops_it(city, backend):
    """On PostGIS the intake writer keeps one connection between batches; when the server drops it
    (a restart, an administrator), the next report is still stored and answered once."""
    if backend.name != "postgis":
        pytest.skip("the writer keeps a connection of its own only on PostGIS")
    from sqlalchemy import text

    first = post(city, description="第一条")
    assert first.status_code == 201
    queue = city.app.extensions["gridops.intake"]
    assert queue._conn is not None and not queue._conn.closed  # kept for the next batch
    pid = queue._conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    queue._conn.rollback()
    with city.session() as s:
        assert s.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar() is True
    before = counts(city)[0]
    second = post(city, description="断线之后", headers={"Idempotency-Key": "after-drop"})
    assert second.status_code == 201, second.json
    again = post(city, description="断线之后", headers={"Idempotency-Key": "after-drop"})
    assert again.json["id"] == second.json["id"]
    assert counts(city)[0] == before + 1


def test_json_no_field_can_hold_is_refused_before_anything_is_stored(city, english):
    """A lone surrogate escape is valid JSON but no UTF-8 text (it failed where it was stored or sent back);
    a body nested 100,000 deep made Python's json raise RecursionError. Both are 400s naming the body."""
    before = counts(city)
    point = f'"lon": {TEST_POINT[0]}, "lat": {TEST_POINT[1]}'
    for text in ('"description": "a\\ud800b"', '"reporter_contact": "\\udfff"', '"description": "\\ud83d"'):
        res = city.client.post("/api/v1/incidents", data=f'{{"category": "order.noise", {point}, {text}}}',
                               content_type="application/json", headers=city.h("resident"))
        assert res.status_code == 400 and res.json["field"] == "body" and "surrogate" in res.json["detail"], res.json
    note = city.client.post("/api/v1/incidents/1/comment", data='{"note": "\\udc00"}', content_type="application/json",
                            headers=city.h("admin"))
    assert note.status_code == 400 and note.json["field"] == "body"
    deep = city.client.post("/api/v1/incidents", data=b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
                            content_type="application/json", headers=city.h("resident"))
    assert deep.status_code == 400 and deep.json["field"] == "body"
    emoji = post(city, description="楼道堆物 \U0001F6B2")  # a real pair (sent escaped by json.dumps) is a character
    assert emoji.status_code == 201, emoji.json
    assert counts(city)[0] == before[0] + 1
