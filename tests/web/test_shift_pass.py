"""A worker's phone signed in for one shift by the QR code the admin's page shows (issue 16, point 6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gridops.access.tokens import hash_token
from gridops.core.models import PageSession, ShiftPass
from tests.web.browser import ON_ONE_BACKEND, browser, live_server


def _make(city, who="admin"):
    res = city.client.post(f"/api/v1/people/{city.workers['grid_worker']}/shift-pass", headers=city.h(who))
    assert res.status_code == 201, res.json
    return res.json


def _last_pass_end(city) -> str:
    with city.session() as s:
        return s.scalar(select(ShiftPass.shift_ends_at).order_by(ShiftPass.id.desc()).limit(1)).isoformat()


def _claim(city, url):
    phone = city.app.test_client()
    path = url.split("//", 1)[1].split("/", 1)[1]
    assert b"shift-sign-in" in phone.get("/" + path).data  # opening the link only shows the button (a link preview uses nothing)
    return phone, phone.post("/" + path)


def test_a_pass_signs_one_phone_in_once_until_the_shift_ends_and_the_admin_can_revoke_it(city):
    made = _make(city)
    assert made["qr_svg"].startswith("data:image/svg+xml") and "/login/shift/" in made["url"]
    assert made["worker"] == city.workers["grid_worker"] and made["user"] == "grid_worker"
    ends = datetime.fromisoformat(made["shift_ends_at"])
    assert city.clock["t"] < ends <= city.clock["t"] + timedelta(hours=16)
    with city.session() as s:
        kept = s.scalar(select(ShiftPass).order_by(ShiftPass.id.desc()).limit(1))
        assert kept.secret_hash == hash_token(made["url"].rsplit("/", 1)[1])  # only the hash is kept

    phone, res = _claim(city, made["url"])
    assert res.status_code == 302 and res.headers["Location"] == "/worker"
    assert phone.get("/api/v1/me/tasks").status_code == 200  # signed in as the worker
    with city.session() as s:
        session_row = s.scalar(select(PageSession).order_by(PageSession.created_at.desc()).limit(1))
        assert session_row.expires_at == ends  # the session lasts the shift
    other, again = _claim(city, made["url"])
    assert again.status_code == 401 and b"shift-refused" in again.data  # once only
    assert other.get("/api/v1/me/tasks").status_code == 401

    # the admin revokes: the phone is signed out at its next request
    assert city.client.post(f"/api/v1/people/{city.workers['grid_worker']}/shift-pass/revoke",
                            headers=city.h("admin")).json["revoked"] == 1
    assert phone.get("/api/v1/me/tasks").status_code == 401

    # a code scanned too late signs no one in; a session ends with the shift
    late = _make(city)
    city.clock["t"] += timedelta(minutes=11)
    assert _claim(city, late["url"])[1].status_code == 401
    fresh = _make(city)
    phone, res = _claim(city, fresh["url"])
    assert res.status_code == 302
    city.clock["t"] = datetime.fromisoformat(fresh["shift_ends_at"]) + timedelta(seconds=1)
    assert phone.get("/api/v1/me/tasks").status_code == 401


def test_only_a_keeper_of_the_person_makes_a_pass(city):
    assert city.client.post(f"/api/v1/people/{city.workers['grid_worker']}/shift-pass",
                            headers=city.h("grid_worker")).status_code == 403
    assert city.client.post(f"/api/v1/people/{city.workers['grid_worker']}/shift-pass",
                            headers=city.h("community_admin")).status_code == 201  # their own ground


@ON_ONE_BACKEND
def test_the_admin_shows_the_code_and_the_phone_opens_its_tasks(city, artifacts_dir, backend):
    with live_server(city.app) as base, browser() as (p, b):
        desk = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", base_url=base)
        page = desk.new_page()
        page.goto("/login")
        page.fill("#token", city.tokens["admin"])
        page.click("button[type=submit]")
        page.goto(f"/admin/people/{city.workers['grid_worker']}")
        page.click("#shift-pass button")
        page.locator("#shift-qr img").wait_for()
        assert page.locator("#shift-qr img").evaluate("img => img.complete && img.naturalWidth > 100")
        assert "10 分钟" in page.inner_text("#shift-qr figcaption")
        ends = datetime.fromisoformat(_last_pass_end(city)).astimezone(ZoneInfo("Asia/Shanghai"))
        assert ends.strftime("%H:%M") in page.inner_text("#shift-qr figcaption")  # in the city's time
        url = page.get_attribute("#shift-qr a", "href")
        page.screenshot(path=str(artifacts_dir / f"admin-shift-qr-{backend.name}.png"))
        phone = b.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN",
                              geolocation={"longitude": 104.1003, "latitude": 30.6203}, permissions=["geolocation"])
        mobile = phone.new_page()
        mobile.goto(url)
        mobile.screenshot(path=str(artifacts_dir / f"phone-shift-sign-in-{backend.name}.png"))
        mobile.click("#shift-sign-in")
        mobile.wait_for_url("**/worker")
        mobile.locator("#tasks-h").wait_for()
        phone.close()
        desk.close()
