"""What is sent, to whom: every step of the loop and every sweep writes its message to the right person, with the
incident's fields, in the outbox the dispatcher delivers from (the notification rows are what is observed)."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gridops.core.models import Area, Incident, Notification, Worker
from gridops.field.sweep import sweep
from gridops.messages.kinds import builtin
from gridops.messages.templates import render
from gridops.web.context import use_case_context
from tests.conftest import TEST_GRID, TEST_POINT

SH = ZoneInfo("Asia/Shanghai")
NEAR = {"lon": round(TEST_POINT[0] + 0.0001, 7), "lat": TEST_POINT[1]}


def _report(city, who="resident", category="dispute.neighbour", **extra):
    res = city.client.post("/api/v1/incidents", json={"category": category, "lon": TEST_POINT[0], "lat": TEST_POINT[1], **extra},
                           headers=city.h(who))
    assert res.status_code == 201, res.json
    return res.json


def _step(city, who, iid, action, **body):
    res = city.client.post(f"/api/v1/incidents/{iid}/{action}", json=body, headers=city.h(who))
    assert res.status_code == 200, (action, res.json)
    return res.json


def _ids(city) -> dict[str, int]:
    with city.session() as s:
        return {code: wid for code, wid in s.execute(select(Worker.code, Worker.id).where(Worker.code.in_(list(city.workers.values()))))}


def _who(city, role: str) -> int:
    return _ids(city)[city.workers[role]]


def _notes(city, iid, kind=None) -> list[Notification]:
    with city.session() as s:
        q = select(Notification).where(Notification.incident_id == iid).order_by(Notification.id)
        if kind:
            q = q.where(Notification.kind == kind)
        return list(s.scalars(q))


def _user_id(city, name: str) -> int:
    from gridops.core.models import AppUser
    with city.session() as s:
        return s.scalar(select(AppUser.id).where(AppUser.name == name))


def test_a_new_task_tells_its_worker_the_place_and_the_due_time_and_a_reassignment_tells_both(city):
    answer = _report(city)  # a point, no building: the place is the grid's name
    iid = answer["id"]
    [note] = _notes(city, iid, "assigned")
    assert note.worker_id == _who(city, "grid_worker")
    with city.session() as s:
        grid = s.scalar(select(Area).where(Area.code == TEST_GRID))
        ground = [grid.code]
        node = grid
        while node.parent_id:
            node = s.get(Area, node.parent_id)
            if node.level in ("community", "street"):
                ground.append(node.code)
    due = datetime.fromisoformat(answer["due_at"]).astimezone(SH)
    d = note.data
    assert d["incident"] == iid and d["category"] == "邻里纠纷" and d["address"] == grid.name
    assert d["grid"] == grid.name and d["ground"] == ground
    assert d["due"] == f"{due.month}月{due.day}日 {due:%H:%M}" and d["due_en"].endswith(f"{due.day} {due:%H:%M}")
    assert note.message == f"【网格任务】#{iid} 邻里纠纷，{grid.name}，请于{d['due']}前处置。{d['reason']}"
    assert "neighbour" in render(builtin("assigned", "en"), d).lower()

    _step(city, "command_centre", iid, "reassign", worker=city.workers["backup"], note="换人")
    [moved] = _notes(city, iid, "unassigned")
    [given] = [n for n in _notes(city, iid, "assigned") if n.worker_id == _who(city, "backup")]
    assert moved.worker_id == _who(city, "grid_worker") and "已转交他人处置" in moved.message
    assert given.data["address"] == d["address"] and given.data["due"] == d["due"]


def test_warnings_at_half_and_three_quarters_of_a_working_time_limit_then_supervision_at_the_right_local_times(city):
    # a 4-hour limit of working time (08:30-12:00, 13:30-17:30), reported on Monday 10:00: 50% at 12:00, the lunch
    # break does not count, 75% at 14:30, due at 15:30
    assert city.client.patch("/api/v1/categories/dispute.neighbour", json={"time_limit_minutes": 240, "working_time": True},
                             headers=city.h("admin")).status_code == 200
    iid = _report(city)["id"]
    with city.session() as s:
        row = s.get(Incident, iid)
        assert row.warn_at.astimezone(SH) == datetime(2026, 11, 23, 12, 0, tzinfo=SH) and row.warned_pct == 0
        assert row.due_at.astimezone(SH) == datetime(2026, 11, 23, 15, 30, tzinfo=SH)
    db, worker, leader = city.app.extensions["gridops.db"], _who(city, "grid_worker"), _who(city, "grid_leader")

    def at(h, m):
        city.clock["t"] = datetime(2026, 11, 23, h, m, tzinfo=SH)
        return sweep(db, use_case_context(city.app))

    assert (iid, 50) not in at(11, 59).warned and not _notes(city, iid, "warning")
    assert (iid, 50) in at(12, 0).warned
    assert iid not in [i for i, _ in at(12, 1).warned]  # once
    [half] = _notes(city, iid, "warning")
    assert half.worker_id == worker and half.data["pct"] == 50 and "已用去50%的处置时限，请于11月23日 15:30前办结" in half.message
    assert iid not in [i for i, _ in at(14, 29).warned]  # the lunch break did not count
    assert (iid, 75) in at(14, 30).warned
    threequarter = [n for n in _notes(city, iid, "warning") if n.data["pct"] == 75]
    assert {n.worker_id for n in threequarter} == {worker, leader}
    with city.session() as s:
        assert s.get(Incident, iid).warn_at is None
    done = at(15, 31)
    assert iid in done.supervised and iid not in [i for i, _ in done.warned]
    supervised = _notes(city, iid, "supervised")
    assert {n.worker_id for n in supervised} == {worker, leader} and all(n.urgent for n in supervised)
    assert "逾期督办：应于11月23日 15:30前办结" in supervised[0].message
    escalated = _notes(city, iid, "escalated")
    assert worker in {n.worker_id for n in escalated} and escalated[0].data["from_tier"] == "网格"
    assert escalated[0].data["to_tier"] == "网格长" and "由网格升级至网格长" in escalated[0].message


def test_two_sweepers_at_once_warn_an_incident_once(city):
    iid = _report(city)["id"]  # three days of the clock: 50% after 36 hours
    city.clock["t"] += timedelta(hours=37)
    db = city.app.extensions["gridops.db"]
    results = []
    threads = [threading.Thread(target=lambda: results.append(sweep(db, use_case_context(city.app)))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum((iid, 50) in r.warned for r in results) == 1
    assert len(_notes(city, iid, "warning")) == 1
    with city.session() as s:
        assert s.get(Incident, iid).warned_pct == 50


def test_the_resident_hears_accepted_resolved_closed_and_the_verifier_is_asked(city):
    iid = _report(city)["id"]
    resident = _user_id(city, "resident")
    _step(city, "grid_worker", iid, "take")
    [accepted] = _notes(city, iid, "accepted")
    assert accepted.user_id == resident and accepted.worker_id is None
    assert re.search(r"/follow/[0-9a-f]{32}$", accepted.data["link"]) and accepted.data["link"] in accepted.message
    _step(city, "grid_worker", iid, "check_in", **NEAR)
    _step(city, "grid_worker", iid, "resolve", note="已调解")
    [verify] = _notes(city, iid, "verify")
    assert verify.worker_id == _who(city, "grid_leader") and "请于" in verify.message and verify.data["due"]
    [resolved] = _notes(city, iid, "resolved")
    assert resolved.user_id == resident and resolved.data["link"] == accepted.data["link"]
    _step(city, "grid_leader", iid, "verify")
    _step(city, "command_centre", iid, "close")
    [closed] = _notes(city, iid, "closed")
    assert closed.user_id == resident and "评价或反馈未解决" in closed.message


def test_a_caller_with_a_mobile_number_hears_by_sms_and_rates_on_the_follow_page(city):
    answer = _report(city, "command_centre", reporter_contact="138 1234 5678", channel="hotline")
    iid, token = answer["id"], answer["token"]
    assert token  # there is someone to send the link to
    _step(city, "command_centre", iid, "accept")
    [accepted] = _notes(city, iid, "accepted")
    assert accepted.phone == "13812345678" and accepted.user_id is None and accepted.data["link"].endswith(f"/follow/{token}")
    for who, action, body in (("grid_worker", "take", {}), ("grid_worker", "check_in", NEAR),
                              ("grid_worker", "resolve", {"note": "已调解"}), ("grid_leader", "verify", {}),
                              ("command_centre", "close", {})):
        _step(city, who, iid, action, **body)
    page = city.client.get(f"/follow/{token}")
    assert page.status_code == 200 and 'id="rate-form"' in page.text and 'id="not-fixed-form"' in page.text
    bad = city.client.post(f"/follow/{token}", data={"action": "rate", "rating": ""})
    assert bad.status_code == 400 and "1至5星" in bad.text
    done = city.client.post(f"/follow/{token}", data={"action": "rate", "rating": "4", "note": "还行"})
    assert done.status_code == 303 and "done=rated" in done.headers["Location"]
    with city.session() as s:
        row = s.get(Incident, iid)
        assert row.status == "followed_up" and row.rating == 4 and row.rating_comment == "还行"
    again = city.client.get(f"/follow/{token}?done=rated")
    assert "感谢您的评价" in again.text and 'id="rate-form"' not in again.text and 'id="not-fixed-form"' in again.text
    reopened = city.client.post(f"/follow/{token}", data={"action": "not_fixed", "note": "又堵了"})
    assert reopened.status_code == 303
    [told] = _notes(city, iid, "reopened")
    assert told.phone == "13812345678" and "已重新交办处置" in told.message
    with city.session() as s:
        row = s.get(Incident, iid)
        assert row.status == "reopened" and row.warn_at is not None and row.warned_pct == 0
    city.clock["t"] += timedelta(days=30)
    late = city.client.post(f"/follow/{token}", data={"action": "not_fixed", "note": "还是不行"})
    assert late.status_code == 409  # reopened: not closed, so nothing to say "not fixed" to


def test_a_landline_is_not_texted(city):
    iid = _report(city, "command_centre", reporter_contact="0831-1234567", channel="hotline")["id"]
    _step(city, "command_centre", iid, "accept")
    assert not _notes(city, iid, "accepted")


def test_a_department_order_goes_to_its_staff(city):
    answer = _report(city, category="hazard.fire_lane")
    iid = answer["id"]
    orders = _notes(city, iid, "department_order")
    with city.session() as s:
        staff = set(s.scalars(select(Worker.id).where(Worker.department_code == "fire", Worker.role == "department_staff",
                                                      Worker.active.is_(True))))
    assert orders and {n.worker_id for n in orders} == staff
    assert all(n.data["department"] == "锦华消防救援站" and "派至锦华消防救援站" in n.message for n in orders)
    assert not _notes(city, iid, "assigned")
