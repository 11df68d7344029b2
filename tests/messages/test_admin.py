"""The admin side of messages over HTTP, on both backends: an admin rewords a message and the next SMS says it,
configures the SMS channel on the page and sends a test, keeps the group robots; the command centre sees a failed
copy with the reason, sends it again and it arrives; a gateway's receipt turns sent into delivered. Secrets never
come back, every change is in the audit trail, and those who may not are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from gridops.core.models import Delivery, Notification
from gridops.messages.dispatcher import Dispatcher
from gridops.messages.kinds import KINDS, LANGS
from gridops.messages.outbox import enqueue
from gridops.messages.settings import KEYS
from tests.conftest import TEST_GRID, TEST_POINT
from tests.messages.fakes import http_sms

SECRET = "sk-live-7f3a9c1e"


@pytest.fixture(autouse=True)
def _history_sent_long_ago(city):
    """The demo city's own history made notifications; they went out long ago, so only this test's are new."""
    with city.session() as s:
        s.execute(update(Notification).where(Notification.fanned_at.is_(None)).values(fanned_at=Notification.created_at))


@pytest.fixture
def gateway():
    gw = http_sms()
    yield gw
    gw.close()


def _dispatch(city) -> None:
    """One pass of a real dispatcher over the city's database, reading the settings as every process does."""
    d = Dispatcher(city.app.extensions["gridops.db"], city.app.config, owner="test")
    try:
        d.step()
    finally:
        d.close()


def _configure_sms(city, gateway, **extra) -> None:
    res = city.client.put("/api/v1/message-settings", headers=city.h("admin"), json={
        "values": {"SMS_GATEWAY": "http", "SMS_URL": gateway.url + "/send", "SMS_TOKEN": SECRET, **extra},
        "note": "接入短信平台"})
    assert res.status_code == 200, res.json


def _resident_message(city, phone="13800001111", kind="resolved"):
    with city.session() as s:
        note = enqueue(s, kind, at=city.clock["t"], phone=phone,
                       data={"incident": 77, "category": "楼道堆物", "link": "https://g.example/f/77"})
        s.flush()
        return note.id


def test_every_kind_is_listed_in_both_languages_with_its_fields(city):
    res = city.client.get("/api/v1/message-templates", headers=city.h("command_centre"))
    assert res.status_code == 200
    kinds = {k["kind"]: k for k in res.json["kinds"]}
    assert set(kinds) == set(KINDS) and "test" in kinds
    assert {t["lang"] for t in kinds["assigned"]["templates"]} == set(LANGS)
    assert {"incident", "category", "address", "due"} <= set(kinds["assigned"]["fields"])
    assert all(t["custom"] is None and t["builtin"] for k in kinds.values() for t in k["templates"])


def test_an_admin_rewords_a_message_and_the_next_sms_says_it(city, gateway):
    _configure_sms(city, gateway)
    text = "【幸福里社区】您反映的{category}（编号{incident}）已处理，请点击评价：{link}"
    res = city.client.put("/api/v1/message-templates/resolved/zh_Hans_CN", headers=city.h("admin"), json={"text": text, "note": "社区口径"})
    assert res.status_code == 200 and res.json["custom"] == text and res.json["updated_by"].startswith("admin:")
    preview = city.client.post("/api/v1/message-templates/resolved/zh_Hans_CN/preview", headers=city.h("admin"),
                               json={"text": text + "{nonsense}"})
    assert preview.status_code == 200
    assert preview.json["text"].startswith("【幸福里社区】您反映的楼道堆物（编号1024）已处理")
    assert preview.json["unknown_fields"] == ["nonsense"]

    _resident_message(city)
    _dispatch(city)
    assert [r.body["text"] for r in gateway.wait_for(1)] == ["【幸福里社区】您反映的楼道堆物（编号77）已处理，请点击评价：https://g.example/f/77"]

    listed = {k["kind"]: k for k in city.client.get("/api/v1/message-templates", headers=city.h("admin")).json["kinds"]}
    assert listed["resolved"]["templates"][0]["custom"] == text
    reset = city.client.delete("/api/v1/message-templates/resolved/zh_Hans_CN", headers=city.h("admin"))
    assert reset.status_code == 200 and reset.json["custom"] is None
    trail = city.client.get("/api/v1/audit?kind=message_template", headers=city.h("admin")).json["changes"]
    assert [(c["key"], c["action"]) for c in trail] == [("resolved/zh_Hans_CN", "clear"), ("resolved/zh_Hans_CN", "set")]
    assert trail[1]["after"] == {"text": text} and trail[1]["note"] == "社区口径"


def test_a_template_that_cannot_render_or_names_no_kind_is_refused(city, english):
    h = city.h("admin")
    assert city.client.put("/api/v1/message-templates/no_such/zh_Hans_CN", headers=h, json={"text": "x"}).status_code == 404
    assert city.client.put("/api/v1/message-templates/assigned/fr", headers=h, json={"text": "x"}).status_code == 404
    bad = city.client.put("/api/v1/message-templates/assigned/zh_Hans_CN", headers=h, json={"text": "任务 {incident"})
    assert bad.status_code == 400 and bad.json["field"] == "text" and "{{" in bad.json["detail"]
    positional = city.client.put("/api/v1/message-templates/assigned/en", headers=h, json={"text": "task {0}"})
    assert positional.status_code == 400 and "not a field name" in positional.json["detail"]
    assert city.client.post("/api/v1/message-templates/assigned/xx/preview", headers=h, json={}).status_code == 404


@pytest.mark.parametrize("who", ["community_admin", "grid_worker", "command_centre", "resident"])
def test_only_an_admin_changes_wordings_settings_and_robots(city, who, english):
    h = city.h(who)
    answers = [
        city.client.put("/api/v1/message-templates/assigned/zh_Hans_CN", headers=h, json={"text": "新任务 {incident}"}),
        city.client.delete("/api/v1/message-templates/assigned/zh_Hans_CN", headers=h),
        city.client.put("/api/v1/message-settings", headers=h, json={"values": {"QUIET_HOURS": ""}}),
        city.client.post("/api/v1/message-settings/test", headers=h, json={"channel": "sms", "address": "13800000000"}),
        city.client.post("/api/v1/robots", headers=h, json={"name": "群", "channel": "dingtalk", "webhook": "https://x.example/r",
                                                             "kinds": ["supervised"]}),
    ]
    assert [a.status_code for a in answers] == [403] * 5
    assert all(a.json["type"].endswith("/forbidden") and "admin" in a.json["detail"] for a in answers)
    reads = [city.client.get(p, headers=h).status_code for p in ("/api/v1/message-templates", "/api/v1/message-settings",
                                                                 "/api/v1/robots", "/api/v1/messages")]
    assert reads == ([200] * 4 if who == "command_centre" else [403] * 4)


def test_settings_say_where_each_value_comes_from_and_never_give_back_a_secret(city, gateway):
    before = {s["key"]: s for s in city.client.get("/api/v1/message-settings", headers=city.h("admin")).json["settings"]}
    assert set(before) == set(KEYS)
    assert before["SMS_GATEWAY"]["source"] == "default" and before["QUIET_HOURS"]["value"] == "22:00-07:00"
    _configure_sms(city, gateway)
    answer = city.client.get("/api/v1/message-settings", headers=city.h("command_centre"))
    assert SECRET not in answer.get_data(as_text=True)
    after = {s["key"]: s for s in answer.json["settings"]}
    assert after["SMS_URL"] == {**after["SMS_URL"], "value": gateway.url + "/send", "source": "page"}
    assert after["SMS_TOKEN"]["value"] is None and after["SMS_TOKEN"]["set"] and after["SMS_TOKEN"]["secret"]
    assert answer.json["channels"] == ["dingtalk", "sms", "wecom_robot"]  # robots: each row is its own setting
    trail = city.client.get("/api/v1/audit?kind=message_setting", headers=city.h("admin"))
    assert SECRET not in trail.get_data(as_text=True)
    assert {c["key"] for c in trail.json["changes"]} == {"SMS_GATEWAY", "SMS_URL", "SMS_TOKEN"}
    unset = city.client.put("/api/v1/message-settings", headers=city.h("admin"), json={"values": {"SMS_URL": None}})
    row = next(s for s in unset.json["settings"] if s["key"] == "SMS_URL")
    assert row["source"] == "default" and row["value"] == "" and unset.json["channels"] == ["dingtalk", "wecom_robot"]


@pytest.mark.parametrize("values, field", [
    ({"SMS_GATEWAY": "carrier-pigeon"}, "SMS_GATEWAY"),
    ({"SMS_URL": "ftp://gateway.example/send"}, "SMS_URL"),
    ({"QUIET_HOURS": "25:00-07:00"}, "QUIET_HOURS"),
    ({"SMS_FORM": "maybe"}, "SMS_FORM"),
    ({"SMS_TEMPLATES": "assigned=SMS_1, nosuchkind=SMS_2"}, "SMS_TEMPLATES"),
    ({"DATABASE_URL": "sqlite:///x"}, "DATABASE_URL"),
])
def test_a_setting_that_cannot_work_is_refused_and_nothing_is_stored(city, values, field):
    res = city.client.put("/api/v1/message-settings", headers=city.h("admin"),
                          json={"values": {"SMS_GATEWAY": "http", **values}})
    assert res.status_code == 400 and res.json["field"] == field, res.json
    listed = {s["key"]: s for s in city.client.get("/api/v1/message-settings", headers=city.h("admin")).json["settings"]}
    assert listed["SMS_GATEWAY"]["source"] == "default"  # the good value of the same request was not stored either


def test_a_test_message_goes_through_the_outbox_and_shows_its_status(city, gateway, english):
    refused = city.client.post("/api/v1/message-settings/test", headers=city.h("admin"), json={"channel": "sms", "address": "13800002222"})
    assert refused.status_code == 409 and "not configured" in refused.json["detail"]
    _configure_sms(city, gateway)
    res = city.client.post("/api/v1/message-settings/test", headers=city.h("admin"), json={"channel": "sms", "address": "13800002222"})
    assert res.status_code == 202 and res.json["status"] == "queued"
    _dispatch(city)
    got = gateway.wait_for(1)
    assert got[0].body["to"] == "13800002222" and "测试消息" in got[0].body["text"]
    assert got[0].headers["Authorization"] == f"Bearer {SECRET}"
    listed = city.client.get("/api/v1/messages?kind=test", headers=city.h("command_centre")).json
    assert [d["status"] for m in listed["messages"] for d in m["deliveries"]] == ["sent"]
    assert listed["counts"]["sent"] == 1


def test_the_command_centre_sees_a_failed_copy_with_its_reason_sends_it_again_and_it_arrives(city, gateway):
    _configure_sms(city, gateway)
    note_id = _resident_message(city, phone="13800003333")
    working = gateway.handle
    gateway.handle = lambda gw, got: (400, {}, {"error": "invalid mobile: blacklisted"})
    _dispatch(city)
    cc = city.h("command_centre")
    failed = city.client.get("/api/v1/messages?status=failed", headers=cc).json
    assert failed["counts"]["failed"] == 1
    [message] = failed["messages"]
    [copy] = message["deliveries"]
    assert message["id"] == note_id and message["to"] == {"phone": "13800003333"}
    assert copy["status"] == "failed" and "blacklisted" in copy["error"] and copy["channel"] == "sms"

    gateway.handle = working
    again = city.client.post(f"/api/v1/messages/{copy['id']}/retry", headers=cc, json={"note": "号码已核实"})
    assert again.status_code == 200 and again.json["status"] == "queued" and again.json["attempts"] == 0
    assert city.client.post(f"/api/v1/messages/{copy['id']}/retry", headers=cc, json={}).status_code == 409
    assert city.client.post("/api/v1/messages/999999999/retry", headers=cc, json={}).status_code == 404
    assert city.client.post(f"/api/v1/messages/{copy['id']}/retry", headers=city.h("grid_leader"), json={}).status_code == 403
    _dispatch(city)
    assert [r.body["to"] for r in gateway.wait_for(1)] == ["13800003333"]
    counts = city.client.get("/api/v1/messages", headers=cc).json["counts"]
    assert counts["failed"] == 0 and counts["sent"] == 1
    trail = city.client.get(f"/api/v1/audit?kind=delivery&key={copy['id']}", headers=city.h("admin")).json["changes"]
    assert trail[0]["action"] == "retry" and "blacklisted" in trail[0]["before"]["error"] and trail[0]["note"] == "号码已核实"


def test_an_incidents_messages_are_listed_with_it(city):
    res = city.client.post("/api/v1/incidents", headers=city.h("resident"), json={
        "category": "dispute.neighbour", "lon": TEST_POINT[0], "lat": TEST_POINT[1], "description": "楼上漏水"})
    assert res.status_code == 201, res.json
    incident = res.json["id"]
    answer = city.client.get(f"/api/v1/incidents/{incident}/messages", headers=city.h("command_centre"))
    assert answer.status_code == 200 and answer.json["incident"] == incident
    assigned = [m for m in answer.json["messages"] if m["kind"] == "assigned"]
    assert assigned and assigned[0]["to"]["worker"] == city.workers["grid_worker"]
    by_filter = city.client.get(f"/api/v1/messages?incident={incident}&worker={city.workers['grid_worker']}",
                                headers=city.h("command_centre")).json["messages"]
    assert {m["id"] for m in by_filter} == {m["id"] for m in assigned}
    assert city.client.get("/api/v1/incidents/999999999/messages", headers=city.h("command_centre")).status_code == 404
    assert city.client.get(f"/api/v1/incidents/{incident}/messages", headers=city.h("grid_worker")).status_code == 403


def test_a_gateways_receipt_turns_sent_into_delivered_with_the_shared_token_only(city, gateway):
    off = city.client.post("/api/v1/messages/receipts/sms", json={"id": "x", "status": "delivered"}, headers={"X-Receipt-Token": ""})
    assert off.status_code == 404 and "SMS_RECEIPT_TOKEN" in off.json["detail"]
    _configure_sms(city, gateway, SMS_RECEIPT_TOKEN="rcpt-91b2")
    _resident_message(city, phone="13800004444")
    _resident_message(city, phone="13800005555")
    _dispatch(city)
    with city.session() as s:
        keys = sorted(s.scalars(select(Delivery.key)))
    url = "/api/v1/messages/receipts/sms"
    assert city.client.post(url, json={"id": keys[0], "status": "delivered"}).status_code == 403
    assert city.client.post(url, json={"id": keys[0], "status": "delivered"}, headers={"X-Receipt-Token": "guess"}).status_code == 403
    token = {"X-Receipt-Token": "rcpt-91b2"}
    assert city.client.post(url, json={"id": keys[0], "status": "lost"}, headers=token).status_code == 400
    assert city.client.post("/api/v1/messages/receipts/pigeon", json={"id": keys[0], "status": "delivered"},
                            headers=token).status_code == 404
    done = city.client.post(url, headers=token, json=[{"id": keys[0], "status": "delivered"},
                                                      {"id": keys[1], "status": "failed", "error": "UNDELIV 停机"},
                                                      {"id": "someone-elses", "status": "delivered"}])
    assert done.status_code == 200 and done.json == {"delivered": 1, "failed": 1, "unchanged": 0, "unknown": ["someone-elses"]}
    again = city.client.post(url, headers=token, json={"id": keys[0], "status": "failed"})
    assert again.json["unchanged"] == 1
    with city.session() as s:
        rows = {d.key: d for d in s.scalars(select(Delivery))}
    assert rows[keys[0]].status == "delivered" and rows[keys[0]].delivered_at is not None
    assert rows[keys[1]].status == "failed" and "停机" in rows[keys[1]].error
    counts = city.client.get("/api/v1/messages", headers=city.h("command_centre")).json["counts"]
    assert (counts["delivered"], counts["failed"]) == (1, 1)


def test_an_admin_keeps_the_group_robots_and_their_secrets_never_come_back(city):
    h = city.h("admin")
    webhook = "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789"
    made = city.client.post("/api/v1/robots", headers=h, json={
        "name": "幸福里社区网格群", "channel": "dingtalk", "webhook": webhook, "secret": "SEC-robot-secret",
        "area_code": TEST_GRID[:12], "kinds": ["supervised", "escalated"], "note": "社区群"})
    assert made.status_code == 201, made.json
    robot = made.json
    assert robot["has_secret"] and robot["webhook"] == "https://oapi.dingtalk.com/robot/send?access_token=…6789"
    listed = city.client.get("/api/v1/robots", headers=city.h("command_centre"))
    assert "SEC-robot-secret" not in listed.get_data(as_text=True) and "abcdef0123456789" not in listed.get_data(as_text=True)
    assert [r["name"] for r in listed.json["robots"]] == ["幸福里社区网格群"]

    bad_area = city.client.post("/api/v1/robots", headers=h, json={"name": "x", "channel": "wecom_robot", "webhook": webhook,
                                                                   "area_code": "999999", "kinds": ["supervised"]})
    assert bad_area.status_code == 400 and bad_area.json["field"] == "area_code"
    bad_url = city.client.post("/api/v1/robots", headers=h, json={"name": "x", "channel": "wecom_robot", "webhook": "javascript:1",
                                                                  "kinds": ["supervised"]})
    assert bad_url.status_code == 400 and bad_url.json["field"] == "webhook"
    bad_kind = city.client.post("/api/v1/robots", headers=h, json={"name": "x", "channel": "wecom_robot", "webhook": webhook,
                                                                   "kinds": ["gossip"]})
    assert bad_kind.status_code == 400

    changed = city.client.patch(f"/api/v1/robots/{robot['id']}", headers=h, json={"active": False, "kinds": ["escalated"]})
    assert changed.status_code == 200 and not changed.json["active"] and changed.json["kinds"] == ["escalated"]
    assert changed.json["has_secret"]  # a change that names no secret keeps it
    assert city.client.patch("/api/v1/robots/999999999", headers=h, json={"active": True}).status_code == 404
    assert city.client.delete(f"/api/v1/robots/{robot['id']}", headers=h).status_code == 204
    assert city.client.get("/api/v1/robots", headers=h).json["robots"] == []
    trail = city.client.get("/api/v1/audit?kind=robot", headers=h)
    assert [c["action"] for c in trail.json["changes"]] == ["remove", "update", "create"]
    assert "SEC-robot-secret" not in trail.get_data(as_text=True) and "abcdef0123456789" not in trail.get_data(as_text=True)


def test_notify_status_and_retry_on_the_command_line(city, gateway, tmp_path):
    from tests.cli.test_cli import run

    _configure_sms(city, gateway)
    _resident_message(city, phone="13800006666")
    gateway.handle = lambda gw, got: (400, {}, {"error": "invalid mobile"})
    _dispatch(city)
    url = str(city.app.config["DATABASE_URL"])
    env = {"GRIDOPS_INSTANCE_PATH": str(tmp_path / "cli")}
    status = run("notify", "status", url=url, env=env)
    assert status.returncode == 0, status.stderr
    assert "invalid mobile" in status.stdout and "13800006666" in status.stdout
    assert status.stdout.strip().splitlines()[-1].startswith("notify: 0 queued, 0 held, 0 sent, 0 delivered, 1 failed")
    assert run("notify", "retry", "--failed", "--channel", "email", url=url, env=env).stdout.strip() == \
        "notify: 0 failed copies on email queued again"
    again = run("notify", "retry", "--failed", url=url, env=env)
    assert again.returncode == 0 and again.stdout.strip() == "notify: 1 failed copy queued again"
    with city.session() as s:
        assert s.scalar(select(Delivery.status).where(Delivery.address == "13800006666")) == "queued"
