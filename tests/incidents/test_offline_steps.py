"""A phone with no signal keeps its steps and sends them later: each step once (its Idempotency-Key),
with the phone's own time beside the server's; a phone whose clock runs ahead is refused."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from sqlalchemy import func, select

from gridops.core.models import Incident, IncidentEvent, Task
from tests.conftest import TEST_POINT
from tests.incidents.test_loop import JPEG, NEAR, new_incident, step


def _iso(city, minutes: float) -> str:
    return (city.clock["t"] + timedelta(minutes=minutes)).isoformat()


def _read(iso: str):
    return datetime.fromisoformat(iso)


def _history(city, iid):
    return city.client.get(f"/api/v1/incidents/{iid}/history", headers=city.h("command_centre")).json["events"]


def test_a_step_sent_again_with_its_key_is_taken_once_with_the_phones_time(city, english):
    iid = new_incident(city)
    key = {"Idempotency-Key": "phone-1-take", **city.h("grid_worker")}
    took_at = _iso(city, -95)  # taken in a basement an hour and a half ago; the signal came back now
    first = city.client.post(f"/api/v1/incidents/{iid}/take", json={"device_time": took_at}, headers=key)
    again = city.client.post(f"/api/v1/incidents/{iid}/take", json={"device_time": took_at}, headers=key)
    assert first.status_code == again.status_code == 200 and again.json == first.json
    other = city.client.post(f"/api/v1/incidents/{iid}/take", json={"device_time": _iso(city, -1)}, headers=key)
    assert other.status_code == 409 and "different request" in other.json["detail"]
    res = city.client.post(f"/api/v1/incidents/{iid}/check_in", json={**NEAR, "device_time": _iso(city, -80)},
                           headers={"Idempotency-Key": "phone-1-check", **city.h("grid_worker")})
    assert res.status_code == 200, res.json
    # a resolution with its photo, sent twice: each multipart body has its own boundary, the step is the same
    for _ in range(2):
        res = city.client.post(f"/api/v1/incidents/{iid}/resolve", content_type="multipart/form-data",
                               data={"note": "已修好", "device_time": _iso(city, -60), "photo": [(io.BytesIO(JPEG), "fix.jpg")]},
                               headers={"Idempotency-Key": "phone-1-resolve", **city.h("grid_worker")})
        assert res.status_code == 200 and res.json["status"] == "resolved", res.json
    events = _history(city, iid)
    assert [e["action"] for e in events] == ["report", "take", "check_in", "resolve"]  # each once
    assert [_read(e["device_at"]) for e in events[1:]] == [city.clock["t"] + timedelta(minutes=m) for m in (-95, -80, -60)]
    assert events[0]["device_at"] is None and all(_read(e["at"]) == city.clock["t"] for e in events[1:])  # stored now
    assert len(events[3]["photos"]) == 1


def test_a_phone_clock_ahead_of_the_server_is_refused_with_what_to_do(city, english):
    iid = new_incident(city)
    res = step(city, "grid_worker", iid, "take", device_time=_iso(city, 6))
    assert res.status_code == 422 and res.json["type"] == "/problems/device-clock-ahead", res.json
    assert res.json["field"] == "device_time" and "clock" in res.json["detail"]
    assert _history(city, iid)[-1]["action"] == "report"  # nothing was done
    assert step(city, "grid_worker", iid, "take", device_time=_iso(city, 4)).status_code == 200  # a few minutes is a phone's drift
    bad = step(city, "grid_worker", iid, "check_in", device_time="yesterday", **NEAR)
    assert bad.status_code == 400 and "device_time" in bad.json["detail"]


def test_a_visit_sent_again_is_recorded_once_with_the_phones_time(city):
    tasks = city.client.get("/api/v1/me/tasks", headers=city.h("grid_worker")).json["tasks"]
    visit = next(t for t in tasks if t["kind"] == "patrol")
    body = {"note": "身体状况良好", **visit["location"], "device_time": _iso(city, -45)}
    key = {"Idempotency-Key": "phone-1-visit", **city.h("grid_worker")}
    first = city.client.post(f"/api/v1/tasks/{visit['id']}/visit", json=body, headers=key)
    again = city.client.post(f"/api/v1/tasks/{visit['id']}/visit", json=body, headers=key)
    assert first.status_code == again.status_code == 200 and first.json == again.json, again.json
    assert _read(first.json["device_at"]) == city.clock["t"] - timedelta(minutes=45)
    with city.session() as s:
        task = s.get(Task, visit["id"])
        assert task.status == "done" and task.device_at == city.clock["t"] - timedelta(minutes=45)
        assert task.completed_at == city.clock["t"]
    ahead = city.client.post(f"/api/v1/tasks/{visit['id']}/visit", json={**body, "device_time": _iso(city, 30)},
                             headers=city.h("grid_worker"))
    assert ahead.status_code == 422 and ahead.json["type"] == "/problems/device-clock-ahead"


def test_a_worker_reports_what_they_find_on_patrol(city):
    res = city.client.post("/api/v1/incidents", content_type="multipart/form-data", headers={
        "Idempotency-Key": "phone-1-report", **city.h("grid_worker")}, data={
        "category": "hazard.ebike_charging", "channel": "patrol", "lon": str(TEST_POINT[0]), "lat": str(TEST_POINT[1]),
        "accuracy_m": "12.5", "description": "楼道里电动车充电", "device_time": _iso(city, -30),
        "photo": [(io.BytesIO(JPEG), "found.jpg")]})
    assert res.status_code == 201, res.json
    iid = res.json["id"]
    report = _history(city, iid)[0]
    assert report["data"] == {"channel": "patrol", "accuracy_m": 12.5}
    assert _read(report["device_at"]) == city.clock["t"] - timedelta(minutes=30)
    assert report["actor"]["worker"] == city.workers["grid_worker"] and len(report["photos"]) == 1
    with city.session() as s:
        assert s.get(Incident, iid).channel == "patrol"
    refused = city.client.post("/api/v1/incidents", json={"category": "hazard.ebike_charging", "channel": "patrol",
                                                          "lon": TEST_POINT[0], "lat": TEST_POINT[1]}, headers=city.h("resident"))
    assert refused.status_code == 400 and refused.json["field"] == "channel"  # found by patrol means found by a worker


def test_handled_on_the_spot_is_closed_at_once_through_the_loops_steps(city):
    body = {"category": "hazard.ebike_charging", "channel": "patrol", "lon": str(TEST_POINT[0] + 0.0002),
            "lat": str(TEST_POINT[1]), "description": "楼道堆物已当场清理", "handled_on_spot": "true",
            "device_time": _iso(city, -10)}
    no_photo = city.client.post("/api/v1/incidents", data=body, headers=city.h("grid_worker"), content_type="multipart/form-data")
    assert no_photo.status_code == 400 and no_photo.json["field"] == "photo"
    sent = []
    for _ in range(2):  # the outbox sent it, the answer was lost, it sends it again
        res = city.client.post("/api/v1/incidents", content_type="multipart/form-data",
                               data={**body, "photo": [(io.BytesIO(JPEG), "done.jpg")]},
                               headers={"Idempotency-Key": "phone-1-onspot", **city.h("backup")})
        assert res.status_code == 201, res.json
        sent.append(res.json)
    assert sent[0] == sent[1] and sent[0]["status"] == "closed" and sent[0]["handled_on_spot"] is True
    iid = sent[0]["id"]
    events = _history(city, iid)
    actions = [e["action"] for e in events]
    assert actions[0] == "report" and actions[-5:] == ["take", "check_in", "resolve", "verify", "close"], actions
    assert actions[1:-5] in ([], ["reassign"])  # routed to the grid's primary worker, the backup found and fixed it
    resolve = events[-3]
    assert resolve["actor"]["worker"] == city.workers["backup"] and len(resolve["photos"]) == 1  # the photo is the evidence
    assert _read(resolve["device_at"]) == city.clock["t"] - timedelta(minutes=10) and "即办件" in events[-1]["note"]
    with city.session() as s:
        assert s.scalar(select(func.count()).select_from(Incident).where(Incident.description == "楼道堆物已当场清理")) == 1
        assert s.get(Incident, iid).status == "closed"
        assert s.scalar(select(func.count()).select_from(IncidentEvent).where(IncidentEvent.incident_id == iid)) == len(events)
