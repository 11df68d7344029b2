"""The closed loop: legal steps only, by the right people, every one recorded."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from gridops.core.models import Notification, Task, Worker
from tests.conftest import TEST_GRID, TEST_POINT

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 64
NEAR = {"lon": round(TEST_POINT[0] + 0.0001, 7), "lat": TEST_POINT[1]}


def new_incident(city, category="dispute.neighbour", **extra):
    res = city.client.post("/api/v1/incidents", json={"category": category, "lon": TEST_POINT[0], "lat": TEST_POINT[1],
                                                      "reporter_contact": "13812345678", **extra}, headers=city.h("resident"))
    assert res.status_code == 201, res.json
    return res.json["id"]


def step(city, who, iid, action, **body):
    return city.client.post(f"/api/v1/incidents/{iid}/{action}", json=body, headers=city.h(who))


def walk(city, iid, *steps):
    for who, action, body in steps:
        res = step(city, who, iid, action, **body)
        assert res.status_code == 200, (action, res.json)
    return res.json


def test_the_whole_loop_from_report_to_rating(city):
    iid = new_incident(city)
    walk(city, iid,
         ("command_centre", "accept", {}), ("command_centre", "assess", {"note": "邻里纠纷，一般"}),
         ("command_centre", "dispatch", {}), ("grid_worker", "check_in", NEAR))
    res = city.client.post(f"/api/v1/incidents/{iid}/resolve", data={"note": "已调解", "photo": [(io.BytesIO(JPEG), "fix.jpg")]},
                           headers=city.h("grid_worker"), content_type="multipart/form-data")
    assert res.status_code == 200 and res.json["status"] == "resolved"
    done = walk(city, iid, ("grid_leader", "verify", {}), ("command_centre", "close", {}),
                ("resident", "rate", {"rating": 5, "note": "满意"}))
    assert done["status"] == "followed_up" and done["allowed"] == ["not_fixed", "comment"]  # for a week: "not fixed"
    history = city.client.get(f"/api/v1/incidents/{iid}/history", headers=city.h("command_centre")).json["events"]
    assert [e["action"] for e in history] == ["report", "accept", "assess", "dispatch", "check_in", "resolve", "verify", "close", "rate"]
    assert [e["seq"] for e in history] == list(range(1, 10))
    assert all(a["to_status"] == b["from_status"] for a, b in zip(history, history[1:], strict=False))
    check_in = history[4]
    assert check_in["actor"]["worker"] == city.workers["grid_worker"] and check_in["location"]["lon"] == NEAR["lon"]
    assert history[5]["photos"][0]["content_type"] == "image/jpeg" and history[5]["note"] == "已调解"
    with city.session() as s:
        assert s.scalar(select(Task.status).where(Task.incident_id == iid)) == "done"


def test_a_worker_takes_the_task_in_one_step_recorded_as_what_it_was(city):
    """Taking is one event that says so: no accept, assess or dispatch appears that nobody did."""
    iid = new_incident(city)
    res = step(city, "grid_worker", iid, "take")
    assert res.json["status"] == "dispatched" and "check_in" in res.json["allowed"]
    events = city.client.get(f"/api/v1/incidents/{iid}/history", headers=city.h("grid_worker")).json["events"]
    assert [e["action"] for e in events] == ["report", "take"]
    assert events[1]["from_status"] == "reported" and events[1]["to_status"] == "dispatched"
    assert events[1]["data"]["skipped"] == ["accept", "assess", "dispatch"]


def test_illegal_steps_are_refused_with_what_is_allowed(city):
    iid = new_incident(city)
    res = step(city, "grid_leader", iid, "verify")
    assert res.status_code == 409 and res.json["type"] == "/problems/illegal-transition"
    assert res.json["status_now"] == "reported" and "accept" in res.json["allowed"]
    assert step(city, "grid_worker", iid, "resolve", note="x").status_code == 409
    assert step(city, "command_centre", iid, "fly").status_code == 404  # not a step at all


def test_notes_ratings_and_check_ins_are_checked(city):
    iid = new_incident(city)
    walk(city, iid, ("grid_worker", "take", {}))
    assert step(city, "grid_worker", iid, "reject").json["field"] == "note"
    far = step(city, "grid_worker", iid, "check_in", lon=TEST_POINT[0] + 0.01, lat=TEST_POINT[1])
    assert far.status_code == 422 and far.json["type"] == "/problems/too-far" and 900 < far.json["distance_m"] < 1100
    assert step(city, "grid_worker", iid, "check_in").json["field"] == "lon"
    walk(city, iid, ("grid_worker", "check_in", NEAR), ("grid_worker", "resolve", {"note": "ok"}), ("grid_leader", "verify", {}),
         ("grid_leader", "close", {}))
    assert step(city, "resident", iid, "rate", rating=9).json["field"] == "rating"


def test_a_check_in_outside_the_grid_is_refused_even_when_near(city, english):
    iid = new_incident(city)
    walk(city, iid, ("grid_worker", "take", {}))
    with city.session() as s:
        from geoalchemy2.shape import to_shape

        from gridops.core.models import Area

        grid = to_shape(s.scalar(select(Area.geom).where(Area.code == TEST_GRID).order_by(Area.id.desc())))
    # the nearest point over the grid's edge, 20 m out
    from gridops.geo.crs import local_projection

    proj = local_projection(grid)
    edge = proj.to_metric(grid).boundary
    inside = proj.to_metric(__import__("shapely").Point(*TEST_POINT))
    p = edge.interpolate(edge.project(inside))
    dx, dy = p.x - inside.x, p.y - inside.y
    scale = (((dx * dx + dy * dy) ** 0.5) + 20) / (dx * dx + dy * dy) ** 0.5
    out = proj.to_wgs84(__import__("shapely").Point(inside.x + dx * scale, inside.y + dy * scale))
    res = step(city, "grid_worker", iid, "check_in", lon=out.x, lat=out.y)
    if res.status_code == 422 and "not the incident's grid" in res.json["detail"]:
        assert res.json["grid"] != TEST_GRID
    else:  # the edge was too far for the distance rule: then that is what refuses it
        assert res.status_code == 422 and "check in within" in res.json["detail"]


def test_reject_sends_it_back_to_routing_and_tells_both(city):
    iid = new_incident(city)
    res = step(city, "grid_worker", iid, "reject", note="我在外地培训")
    assert res.status_code == 200
    assert res.json["assignee"]["code"] == city.workers["backup"] and res.json["routing_reason"] == "backup: primary declined"
    again = step(city, "backup", iid, "reject", note="我也不在")
    assert again.status_code == 200
    assert again.json["assignee"]["code"] == city.workers["grid_leader"]
    assert again.json["routing_reason"] == "grid leader: grid workers declined"
    history = city.client.get(f"/api/v1/incidents/{iid}/history", headers=city.h("command_centre")).json["events"]
    assert [e["note"] for e in history if e["action"] == "reject"] == ["我在外地培训", "我也不在"]
    with city.session() as s:
        first = s.scalar(select(Worker.id).where(Worker.code == city.workers["grid_worker"]))
        told = s.scalars(select(Notification.kind).where(Notification.incident_id == iid, Notification.worker_id == first)).all()
    assert "unassigned" in told


def test_reassignment_tells_both_sides(city):
    iid = new_incident(city)
    res = step(city, "command_centre", iid, "reassign", worker=city.workers["backup"], note="换人")
    assert res.json["assignee"]["code"] == city.workers["backup"]
    with city.session() as s:
        wanted = [city.workers["grid_worker"], city.workers["backup"]]
        ids = dict(s.execute(select(Worker.code, Worker.id).where(Worker.code.in_(wanted))).all())
        kinds = {code: set(s.scalars(select(Notification.kind).where(Notification.incident_id == iid, Notification.worker_id == wid)))
                 for code, wid in ids.items()}
        tasks = dict(s.execute(select(Task.worker_id, Task.status).where(Task.incident_id == iid)).all())
    assert "unassigned" in kinds[city.workers["grid_worker"]] and "assigned" in kinds[city.workers["backup"]]
    assert tasks[ids[city.workers["grid_worker"]]] == "cancelled" and tasks[ids[city.workers["backup"]]] == "open"


def test_escalation_climbs_the_ladder_to_the_top(city):
    iid = new_incident(city)
    walk(city, iid, ("grid_worker", "take", {}))
    tiers = []
    for k in range(4):  # the worker raises it first; then the command centre, each time it is stuck
        res = step(city, "grid_worker" if k == 0 else "command_centre", iid, "escalate", note="网格内无法解决")
        assert res.status_code == 200, res.json
        tiers.append(res.json["tier"])
        walk(city, iid, ("command_centre", "dispatch", {}))
    assert tiers == ["grid_leader", "community", "street", "district"]
    top = step(city, "command_centre", iid, "escalate", note="again")
    assert top.status_code == 409


def test_return_sends_it_back_for_rework(city):
    iid = new_incident(city)
    walk(city, iid, ("grid_worker", "take", {}), ("grid_worker", "check_in", NEAR), ("grid_worker", "resolve", {"note": "修了"}))
    res = step(city, "grid_leader", iid, "return", note="没修好")
    assert res.json["status"] == "returned" and res.json["assignee"]["code"] == city.workers["grid_worker"]
    walk(city, iid, ("grid_worker", "check_in", NEAR), ("grid_worker", "resolve", {"note": "重修"}), ("grid_leader", "verify", {}))


def test_supervision_is_for_the_command_centre(city):
    iid = new_incident(city)
    assert step(city, "grid_leader", iid, "supervise").status_code == 403
    res = step(city, "command_centre", iid, "supervise", note="请加快")
    assert res.status_code == 200 and res.json["supervised_at"]


# --- who may do what ----------------------------------------------------------

# (role, may see the incident, may take the first step "accept", may verify when resolved)
MATRIX = [
    ("resident", True, False, False),  # the reporter
    ("other_resident", False, False, False),
    ("grid_worker", True, True, False),  # the assignee
    ("backup", True, False, False),  # answers for the neighbouring grid, and backs this one up
    ("stranger_worker", False, False, False),
    ("grid_leader", True, True, True),
    ("community_admin", True, True, True),
    ("fire", False, False, False),  # another department's incident
    ("planner", False, False, False),
    ("command_centre", True, True, True),
    ("admin", True, True, True),
]


@pytest.mark.parametrize(("role", "sees", "accepts", "verifies"), MATRIX)
def test_each_role_may_do_what_it_should_and_nothing_more(city, role, sees, accepts, verifies):
    iid = new_incident(city)
    view = city.client.get(f"/api/v1/incidents/{iid}", headers=city.h(role))
    assert (view.status_code == 200) == sees, view.json
    assert view.status_code in (200, 404)
    if sees:
        contact = view.json["reporter"]["contact"]
        needs_it = role in ("resident", "grid_worker", "grid_leader", "community_admin", "command_centre", "admin")
        assert (contact == "13812345678") == needs_it and (needs_it or contact == "138****5678")
    res = step(city, role, iid, "accept")
    assert (res.status_code == 200) == accepts, res.json
    assert res.status_code in (200, 403, 404)
    other = new_incident(city, "order.noise")
    walk(city, other, ("grid_worker", "take", {}), ("grid_worker", "check_in", NEAR), ("grid_worker", "resolve", {"note": "好了"}))
    res = step(city, role, other, "verify")
    assert (res.status_code == 200) == verifies, res.json


def test_a_department_sees_and_handles_its_own(city):
    iid = new_incident(city, "hazard.fire_lane")
    view = city.client.get(f"/api/v1/incidents/{iid}", headers=city.h("fire"))
    assert view.status_code == 200 and view.json["department"] == "fire"
    assert city.client.get(f"/api/v1/incidents/{iid}", headers=city.h("stranger_worker")).status_code == 404


def _elsewhere(city) -> tuple[int, str]:
    """An open incident of another community, and a worker who works only there."""
    from sqlalchemy.orm import aliased

    from gridops.core.models import Area, Assignment, Incident
    from gridops.incidents.loop import OPEN

    community = TEST_GRID[:12]
    with city.session() as s:
        grid = aliased(Area)
        iid = s.scalar(select(Incident.id).join(grid, grid.id == Incident.grid_id)
                       .where(Incident.status.in_(OPEN), ~grid.code.like(community + "%")).limit(1))
        code = s.scalar(select(Worker.code).join(Assignment, Assignment.worker_id == Worker.id)
                        .where(~Assignment.area_code.like(community + "%"), Worker.active.is_(True)).limit(1))
    assert iid and code
    return iid, code


def test_merging_or_handing_over_stays_on_ones_own_ground(city, english):
    """A grid leader cannot merge into another community's incident (and learns nothing of whether it
    exists), nor hand work to a worker of another community; the command centre can do both."""
    mine = new_incident(city)
    theirs, their_worker = _elsewhere(city)
    assert step(city, "grid_leader", theirs, "comment", note="看看").status_code == 404  # not theirs to see
    into_theirs = step(city, "grid_leader", mine, "merge", target=theirs)
    into_nothing = step(city, "grid_leader", mine, "merge", target=999_999_999)
    assert into_theirs.status_code == into_nothing.status_code == 404
    assert into_theirs.json["detail"].replace(str(theirs), "N") == into_nothing.json["detail"].replace("999999999", "N")
    away = step(city, "grid_leader", mine, "reassign", worker=their_worker, note="给别的社区")
    unknown = step(city, "grid_leader", mine, "reassign", worker="W-NOBODY", note="给谁")
    assert away.status_code == unknown.status_code == 400 and away.json["field"] == "worker"
    assert "on the ground you answer for" in away.json["detail"] and "on the ground you answer for" in unknown.json["detail"]
    assert step(city, "grid_leader", mine, "reassign", worker=city.workers["backup"], note="换人").status_code == 200
    assert step(city, "command_centre", mine, "reassign", worker=their_worker, note="跨社区支援").status_code == 200
    assert step(city, "command_centre", mine, "merge", target=theirs).status_code == 200


def _resolved_by_the_leader(city) -> int:
    """An incident the grid leader handled and resolved themselves."""
    iid = new_incident(city)
    walk(city, iid, ("command_centre", "reassign", {"worker": city.workers["grid_leader"], "note": "网格长亲自处理"}),
         ("grid_leader", "take", {}), ("grid_leader", "check_in", NEAR), ("grid_leader", "resolve", {"note": "已调解"}))
    return iid


def test_nobody_verifies_or_closes_what_they_resolved(city, english):
    iid = _resolved_by_the_leader(city)
    own = step(city, "grid_leader", iid, "verify")
    assert own.status_code == 403 and "resolved by you" in own.json["detail"] and "verify" not in own.json["allowed"]
    walk(city, iid, ("command_centre", "verify", {}))
    assert step(city, "grid_leader", iid, "close").status_code == 403
    assert walk(city, iid, ("community_admin", "close", {}))["status"] == "closed"


def test_an_admin_override_of_the_resolver_rule_is_an_event_that_says_so(city, english):
    from sqlalchemy import update

    from gridops.core.models import AppUser

    iid = _resolved_by_the_leader(city)
    with city.session() as s:  # the leader's worker record, signed in as an admin
        leader = s.scalar(select(Worker.id).where(Worker.code == city.workers["grid_leader"]))
        s.execute(update(AppUser).where(AppUser.name == "admin").values(worker_id=leader))
    refused = step(city, "admin", iid, "verify")
    assert refused.status_code == 403 and "resolved by you" in refused.json["detail"]
    assert step(city, "admin", iid, "verify", override=True).status_code == 403  # an override needs a note saying why
    done = step(city, "admin", iid, "verify", override=True, note="夜间无他人在岗，事后复核")
    assert done.status_code == 200
    last = city.client.get(f"/api/v1/incidents/{iid}/history", headers=city.h("command_centre")).json["events"][-1]
    assert last["action"] == "verify" and "admin override" in last["data"]["override"] and last["note"].startswith("夜间")


def _closed(city, category: str = "dispute.neighbour") -> int:
    iid = new_incident(city, category)
    walk(city, iid, ("grid_worker", "take", {}), ("grid_worker", "check_in", NEAR), ("grid_worker", "resolve", {"note": "已调解"}),
         ("grid_leader", "verify", {}), ("grid_leader", "close", {}))
    return iid


def test_a_low_rating_reopens_the_incident_to_its_handler_and_counts_as_rework(city):
    iid = _closed(city)
    before = city.client.get(f"/api/v1/stats?level=grid&area={TEST_GRID}", headers=city.h("command_centre")).json
    res = step(city, "resident", iid, "rate", rating=2, note="还是很吵")
    assert res.status_code == 200 and res.json["status"] == "reopened"
    assert res.json["assignee"]["code"] == city.workers["grid_worker"]
    with city.session() as s:
        worker = s.scalar(select(Worker.id).where(Worker.code == city.workers["grid_worker"]))
        tasks = list(s.scalars(select(Task.status).where(Task.incident_id == iid, Task.worker_id == worker)))
        told = list(s.scalars(select(Notification.message).where(Notification.incident_id == iid, Notification.worker_id == worker)))
    assert "open" in tasks and any("还是很吵" in m for m in told)  # back on their list, with the resident's words
    assert walk(city, iid, ("grid_worker", "check_in", NEAR))["status"] == "in_progress"
    after = city.client.get(f"/api/v1/stats?level=grid&area={TEST_GRID}", headers=city.h("command_centre")).json
    assert after["totals"]["rework"] == before["totals"]["rework"] + 1


def test_not_fixed_reopens_within_seven_days_and_not_after(city, english):
    from datetime import timedelta

    iid = _closed(city)
    late = _closed(city, "order.noise")  # closed the same Monday morning (nobody's shift changes meanwhile)
    city.clock["t"] += timedelta(days=6)
    assert step(city, "resident", iid, "not_fixed").status_code == 400  # the resident's words are needed
    res = step(city, "resident", iid, "not_fixed", note="井盖又松了")
    assert res.status_code == 200 and res.json["status"] == "reopened"
    city.clock["t"] += timedelta(days=2)
    refused = step(city, "resident", late, "not_fixed", note="还是没修好")
    assert refused.status_code == 409 and "7 days" in refused.json["detail"]


def test_a_reporter_whose_report_was_merged_follows_the_incident_and_may_rate_it(city):
    first = new_incident(city)
    dup = city.client.post("/api/v1/incidents", json={"category": "dispute.neighbour", "lon": TEST_POINT[0], "lat": TEST_POINT[1],
                                                       "description": "楼上又吵"}, headers=city.h("other_resident")).json
    assert dup["status"] == "merged" and dup["merged_into"] == first
    seen = city.client.get(f"/api/v1/incidents/{first}", headers=city.h("other_resident"))
    assert seen.status_code == 200 and "138" not in str(seen.json.get("reporter_contact"))  # the first reporter's phone stays hidden
    listed = city.client.get("/api/v1/incidents?status=all", headers=city.h("other_resident")).json
    assert first in {f["id"] for f in listed["features"]}
    walk(city, first, ("grid_worker", "take", {}), ("grid_worker", "check_in", NEAR), ("grid_worker", "resolve", {"note": "已调解"}),
         ("grid_leader", "verify", {}), ("grid_leader", "close", {}))
    assert step(city, "other_resident", first, "rate", rating=4, note="好多了").json["status"] == "followed_up"
