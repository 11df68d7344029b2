"""A resident at their door signs in by phone in a real browser (a 360 px phone, Chinese, no script): the number,
the code the SMS brings (the real dispatcher, the fake gateway), a wrong code said plainly, then the right one; they
report, and the report is listed as theirs on the door's page. Screenshots under test-artifacts/."""

from __future__ import annotations

from sqlalchemy import select

from gridops.core.models import AppUser, Incident
from tests.access.test_phone_sign_in import code_sent, sms  # noqa: F401  (the fixture)
from tests.web.browser import ON_ONE_BACKEND, browser, live_server, watch
from tests.web.test_resident_page import PHONE, a_door

pytestmark = ON_ONE_BACKEND


def test_a_resident_signs_in_by_phone_at_the_door_and_reports(city, sms, artifacts_dir):  # noqa: F811
    door = a_door(city)
    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(**PHONE, java_script_enabled=False, base_url=base)
        page = context.new_page()
        seen = watch(page, base)
        page.goto(f"/r/{door['code']}")
        assert page.locator("#phone-sign-in").is_visible()
        page.fill("#sign-in-phone", "139 0000 1111")
        page.click("#phone-sign-in button[value=send]")
        page.wait_for_load_state("load")
        assert "验证码已通过短信发送至 139****1111" in page.locator("#phone-sign-in").inner_text()
        page.screenshot(path=str(artifacts_dir / "phone-sign-in-code.png"), full_page=True)
        code = code_sent(city, sms)
        page.fill("#code", f"{(int(code) + 1) % 1_000_000:06d}")
        page.click("#phone-sign-in button[value=verify]")
        page.wait_for_load_state("load")
        assert page.locator("#error-sign-in").inner_text() == "验证码错误，还可再试 4 次，之后该验证码将失效。"
        page.screenshot(path=str(artifacts_dir / "phone-sign-in-wrong.png"), full_page=True)
        page.fill("#code", code)
        page.click("#phone-sign-in button[value=verify]")
        page.wait_for_url(f"**/r/{door['code']}")
        assert page.locator("#signed-in").inner_text().startswith("已登录：139****1111")
        assert page.input_value("#contact") == "13900001111"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the page is {width} px wide on a 360 px phone"
        page.screenshot(path=str(artifacts_dir / "phone-sign-in-signed.png"), full_page=True)
        page.get_by_label("公共设施报修").check()
        page.fill("#description", "3单元楼道灯坏了，晚上看不见台阶")
        page.click("#report-form button[type=submit]")
        page.wait_for_url("**/follow/**")
        number = int(page.locator("#report-number").inner_text())
        page.goto(f"/r/{door['code']}")
        mine = page.locator("#my-reports").inner_text()
        assert f"编号 {number}" in mine and "公共设施报修" in mine and "已收到" in mine
        page.screenshot(path=str(artifacts_dir / "phone-sign-in-reports.png"), full_page=True)
        errors = [e for e in seen.errors if "Failed to load resource" not in e]  # the wrong code (400)
        assert not seen.outside() and not errors, (seen.outside(), errors)
        context.close()
    with city.session() as s:
        incident = s.get(Incident, number)
        user = s.scalar(select(AppUser).where(AppUser.phone == "13900001111"))
        assert incident.reporter_user_id == user.id and user.role == "resident"
