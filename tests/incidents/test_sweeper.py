"""Overdue work: supervised (督办), its worker told, escalated up the ladder, again while it stays overdue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from gridops.core.models import Incident, IncidentEvent, Notification
from gridops.field.sweep import sweep
from gridops.incidents.context import Context
from gridops.web.context import use_case_context
from tests.conftest import TEST_POINT


def context(city) -> Context:
    return use_case_context(city.app)


def report(city, category="care.elderly"):  # a 2-hour limit
    res = city.client.post("/api/v1/incidents", json={"category": category, "lon": TEST_POINT[0], "lat": TEST_POINT[1]},
                           headers=city.h("resident"))
    return res.json["id"]


def test_overdue_work_is_supervised_told_and_escalated_once_per_time_limit(city):
    iid = report(city)  # care.elderly: accepted within 15 minutes, handled within 2 hours
    db = city.app.extensions["gridops.db"]
    start = city.clock["t"]
    city.clock["t"] = start + timedelta(minutes=10)
    early = sweep(db, context(city))  # the demo city's own open reports are long overdue; ours is not yet
    assert iid not in early.supervised and iid not in early.escalated and len(early.supervised) > 0

    city.clock["t"] = start + timedelta(hours=1)  # nobody has accepted it: supervised once, not escalated
    late = sweep(db, context(city))
    assert iid in late.supervised and iid not in late.escalated
    assert iid not in sweep(db, context(city)).supervised
    with city.session() as s:
        note = s.scalar(select(IncidentEvent.note).where(IncidentEvent.incident_id == iid, IncidentEvent.action == "supervise"))
        assert note.startswith("受理超时督办") and s.get(Incident, iid).status == "reported"

    city.clock["t"] = start + timedelta(hours=2, minutes=5)  # the handling limit has run out too
    first = sweep(db, context(city))
    assert iid in first.supervised and iid in first.escalated
    with city.session() as s:
        incident = s.get(Incident, iid)
        assert incident.supervised_at is not None and incident.status == "escalated" and incident.tier == "grid_leader"
        told = s.scalars(select(Notification.kind).where(Notification.incident_id == iid)).all()
        assert "supervised" in told
    again = sweep(db, context(city))  # minutes later: nothing more
    assert iid not in again.escalated and iid not in again.supervised

    city.clock["t"] = start + timedelta(hours=4, minutes=10)  # another time limit has passed, still overdue
    assert iid in sweep(db, context(city)).escalated
    with city.session() as s:
        assert s.get(Incident, iid).tier == "community"
        steps = s.scalars(select(IncidentEvent.action).where(IncidentEvent.incident_id == iid).order_by(IncidentEvent.seq)).all()
        labels = s.scalars(select(IncidentEvent.actor_label)
                           .where(IncidentEvent.incident_id == iid, IncidentEvent.action != "report")).all()
    assert steps == ["report", "supervise", "supervise", "escalate", "escalate"] and set(labels) == {"system"}


def test_a_resolution_nobody_verifies_in_time_is_supervised_while_the_handling_limit_still_runs(city):
    iid = report(city, "dispute.neighbour")  # handled within 3 days; verified within 48 hours of the resolution
    near = {"lon": round(TEST_POINT[0] + 0.0001, 7), "lat": TEST_POINT[1]}
    for action, body in (("take", {}), ("check_in", near), ("resolve", {"note": "双方已和解"})):
        assert city.client.post(f"/api/v1/incidents/{iid}/{action}", json=body, headers=city.h("grid_worker")).status_code == 200
    view = city.client.get(f"/api/v1/incidents/{iid}", headers=city.h("grid_leader")).json
    assert view["verify_due_at"] is not None and view["overdue_stage"] is None
    db = city.app.extensions["gridops.db"]
    city.clock["t"] += timedelta(hours=49)
    done = sweep(db, context(city))
    assert iid in done.supervised and iid not in done.escalated
    view = city.client.get(f"/api/v1/incidents/{iid}", headers=city.h("grid_leader")).json
    assert view["overdue_stage"] == "verify" and not view["overdue"] and view["status"] == "resolved"
    with city.session() as s:
        note = s.scalar(select(IncidentEvent.note).where(IncidentEvent.incident_id == iid, IncidentEvent.action == "supervise"))
    assert note.startswith("核查超时督办")
    assert iid not in sweep(db, context(city)).supervised  # once


def test_work_waiting_for_verification_is_supervised_not_escalated(city):
    iid = report(city)
    near = {"lon": round(TEST_POINT[0] + 0.0001, 7), "lat": TEST_POINT[1]}
    steps = (("grid_worker", "take", {}), ("grid_worker", "check_in", near), ("grid_worker", "resolve", {"note": "已送医"}))
    for who, action, body in steps:
        assert city.client.post(f"/api/v1/incidents/{iid}/{action}", json=body, headers=city.h(who)).status_code == 200
    city.clock["t"] += timedelta(hours=3)
    done = sweep(city.app.extensions["gridops.db"], context(city))
    assert iid in done.supervised and iid not in done.escalated
    with city.session() as s:
        assert s.get(Incident, iid).status == "resolved"


def test_the_command_line_sweeps(city):
    import subprocess

    from tests.cli.test_cli import GRIDOPS

    out = subprocess.run([GRIDOPS, "sweep"], capture_output=True, text=True,
                         env={**__import__("os").environ, "DATABASE_URL": city.app.config["DATABASE_URL"]}, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("swept: ")
