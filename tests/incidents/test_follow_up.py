"""回访 by telephone, and the checks after a resolution on the lists of those who make them."""

from __future__ import annotations

from sqlalchemy import select

from gridops.core.models import Incident
from tests.incidents.test_loop import NEAR, new_incident, step, walk


def _resolved(city) -> int:
    iid = new_incident(city, description="楼道堆放杂物")
    walk(city, iid, ("grid_worker", "take", {}), ("grid_worker", "check_in", NEAR), ("grid_worker", "resolve", {"note": "已清理"}))
    return iid


def _closed(city) -> int:
    iid = _resolved(city)
    walk(city, iid, ("grid_leader", "verify", {}), ("grid_leader", "close", {}))
    return iid


def test_a_follow_up_call_not_reached_keeps_it_closed_and_reached_ends_the_loop_with_the_rating(city):
    iid = _closed(city)
    missed = step(city, "command_centre", iid, "follow_up", reached=False, note="无人接听")
    assert missed.status_code == 200 and missed.json["status"] == "closed" and "follow_up" in missed.json["allowed"]
    done = step(city, "command_centre", iid, "follow_up", reached=True, rating=4, note="居民满意，感谢网格员")
    assert done.status_code == 200 and done.json["status"] == "followed_up"
    events = city.client.get(f"/api/v1/incidents/{iid}/history", headers=city.h("command_centre")).json["events"]
    assert [(e["action"], e["to_status"]) for e in events[-2:]] == [("follow_up", "closed"), ("follow_up", "followed_up")]
    assert events[-2]["data"] == {"reached": False} and events[-2]["note"] == "无人接听"
    assert events[-1]["data"] == {"reached": True, "rating": 4}
    seen = city.client.get(f"/api/v1/incidents/{iid}", headers=city.h("command_centre")).json
    assert seen["rating"] == 4
    with city.session() as s:
        assert s.scalar(select(Incident.rating_comment).where(Incident.id == iid)) == "居民满意，感谢网格员"


def test_a_follow_up_asks_whether_reached_and_a_rating_when_reached_and_a_low_one_reopens(city):
    iid = _closed(city)
    assert step(city, "command_centre", iid, "follow_up").json["field"] == "reached"
    assert step(city, "command_centre", iid, "follow_up", reached=True).json["field"] == "rating"
    res = step(city, "command_centre", iid, "follow_up", reached=True, rating=1, note="根本没清理")
    assert res.status_code == 200 and res.json["status"] == "reopened"
    assert res.json["assignee"]["code"] == city.workers["grid_worker"]  # back to the one who handled it


def test_a_follow_up_is_for_the_command_centre_and_the_community_not_a_worker_or_the_resident(city):
    iid = _closed(city)
    assert step(city, "grid_worker", iid, "follow_up", reached=False).status_code in (403, 404)
    assert step(city, "resident", iid, "follow_up", reached=False).status_code in (403, 404)
    assert step(city, "community_admin", iid, "follow_up", reached=False).status_code == 200
    open_one = _resolved(city)
    refused = step(city, "command_centre", open_one, "follow_up", reached=False)
    assert refused.status_code == 409 and refused.json["status_now"] == "resolved"


def _verify_rows(city, who: str) -> dict[int, dict]:
    res = city.client.get("/api/v1/me/tasks", headers=city.h(who))
    assert res.status_code == 200, res.json
    return {t["incident_id"]: t for t in res.json["tasks"] if t["kind"] == "verify"}


def test_a_resolution_waits_on_the_leaders_list_for_verification_then_for_the_close(city):
    iid = _resolved(city)
    leader = _verify_rows(city, "grid_leader")
    assert iid in leader and leader[iid]["incident_status"] == "resolved"
    assert {"verify", "return"} <= set(leader[iid]["allowed"]) and leader[iid]["id"] == -iid
    assert leader[iid]["incident"]["category_name"] and leader[iid]["due_at"]
    assert iid in _verify_rows(city, "community_admin")  # the community sees it waiting too
    assert iid not in _verify_rows(city, "grid_worker")  # who resolved it does not verify it
    walk(city, iid, ("grid_leader", "verify", {}))
    assert _verify_rows(city, "grid_leader")[iid]["allowed"][:1] == ["close"]
    walk(city, iid, ("grid_leader", "close", {}))
    assert iid not in _verify_rows(city, "grid_leader")
