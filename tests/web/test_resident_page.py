"""The resident's page a door's QR label opens (/r/<door code>): scanned, filled in and sent on a phone, with no
script, in Chinese; the report goes through the intake to the grid like any other (channel qr, the household
set) and its reporter follows it by the link they are given. Unknown and demolished codes, bad input and too
many reports each get a page a person can read, in their language, never a 500."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from gridops.core.models import Attachment, Building, Household, Incident
from gridops.registers import buildings
from gridops.web.context import use_case_context
from tests.conftest import TEST_GRID
from tests.incidents.test_photos import jpeg
from tests.web.browser import browser, live_server, watch

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
         "user_agent": "Mozilla/5.0 (Linux; Android 10; Redmi 9A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"}


def a_door(city) -> dict:
    """A household of the test grid with a unit and a room, its building, and another door of the same building."""
    with city.session() as s:
        found = buildings.list_buildings(s, use_case_context(city.app), None, buildings.BuildingQuery(area=TEST_GRID, limit=500))
        code = max(found, key=lambda b: (b["households"], b["code"]))["code"]
        b = s.scalar(select(Building).where(Building.code == code))
        doors = list(s.scalars(select(Household).where(Household.building_id == b.id, Household.unit.is_not(None),
                                                       Household.room.is_not(None)).order_by(Household.code).limit(2)))
        return {"code": doors[0].code, "id": doors[0].id, "unit": doors[0].unit, "room": doors[0].room,
                "other": doors[1].code, "building": b.code, "building_id": b.id, "name": b.name}


def scanned(city, code: str) -> str:
    """What a phone reads off the door's printed label: the URL's path (the label is printed by an admin)."""
    building = code.split("-")[0]
    png = city.client.get(f"/api/v1/buildings/{building}/labels?format=png&door={code}", headers=city.h("admin"))
    assert png.status_code == 200, png.get_data(as_text=True)
    (url,) = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))]
    return urlsplit(url).path


def form_key(html: str) -> str:
    return re.search(r'name="form_key" value="([^"]+)"', html).group(1)


def incidents_count(city) -> int:
    with city.session() as s:
        return s.scalar(select(func.count(Incident.id)))


def test_scanned_reported_routed_and_followed(city):
    door = a_door(city)
    path = scanned(city, door["code"])
    assert path == f"/r/{door['code']}"
    page = city.client.get(path)  # a resident: no sign-in
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="zh-CN">' in html
    assert door["name"] in html and f"{door['unit']}单元 {door['room']}室" in html and "遇到了什么问题？" in html
    assert door["other"] not in html and "<script" not in html  # nothing of the neighbours; nothing to run
    assert len(page.data) < 8_000  # a small page on a bad signal (its one stylesheet is smaller still)
    assert "公共设施报修" in html and "老人关爱" not in html  # the public categories only
    sent = city.client.post(path, data={"form_key": form_key(html), "category": "livelihood.repair",
                                        "description": "3楼楼道灯坏了一个星期", "contact": "139 0000 1111",
                                        "photo": (io.BytesIO(jpeg(3)), "IMG_0001.jpg")}, content_type="multipart/form-data")
    assert sent.status_code == 303, sent.get_data(as_text=True)[:500]
    follow = sent.headers["Location"]
    token = re.search(r"/follow/([0-9a-f]+)\?new=1$", follow).group(1)
    with city.session() as s:
        incident = s.scalar(select(Incident).where(Incident.token == token))
        assert incident.channel == "qr" and incident.household_id == door["id"] and incident.building_id == door["building_id"]
        assert incident.reporter_user_id is None and incident.reporter_contact == "139 0000 1111"
        assert s.scalar(select(func.count(Attachment.id)).where(Attachment.incident_id == incident.id)) == 1
        number = incident.id
    # routed to the grid like any other report: its worker sees it, placed in the grid the building stands in
    seen = city.client.get(f"/api/v1/incidents/{number}", headers=city.h("grid_worker"))
    assert seen.status_code == 200 and seen.json["grid"]["code"] == TEST_GRID, seen.json
    assert seen.json["channel"] == "qr"
    # the resident follows it: the number, where it is, no phone number, nobody's name
    shown = city.client.get(follow).get_data(as_text=True)
    assert "感谢您的上报，我们已经收到" in shown and f'id="report-number">{number}<' in shown
    assert 'aria-current="step">已收到<' in shown and "3楼楼道灯坏了一个星期" in shown and "139 0000 1111" not in shown
    assert city.app.test_client().get(f"/follow/{token}?lang=en").get_data(as_text=True).count("Received") >= 1
    # and Open311 knows the same receipt
    receipt = city.client.get(f"/open311/v2/tokens/{token}.json")
    assert receipt.status_code == 200 and receipt.json == [{"service_request_id": str(number), "token": token}]
    # a step of the loop shows on the resident's page (never who took it)
    for step in ("accept", "assess", "dispatch"):
        done = city.client.post(f"/api/v1/incidents/{number}/{step}", json={}, headers=city.h("grid_leader"))
        assert done.status_code == 200, done.json
    after = city.client.get(f"/follow/{token}").get_data(as_text=True)
    assert 'aria-current="step">处理中<' in after and "已受理" in after and "已派给网格员" in after


def test_a_second_tap_on_send_reports_once(city):
    door = a_door(city)
    html = city.client.get(f"/r/{door['code']}").get_data(as_text=True)
    before = incidents_count(city)
    form = {"form_key": form_key(html), "category": "environment.garbage", "description": "楼下垃圾三天没清"}
    first = city.client.post(f"/r/{door['code']}", data=form)
    again = city.client.post(f"/r/{door['code']}", data=form)
    assert first.status_code == again.status_code == 303 and first.headers["Location"] == again.headers["Location"]
    assert incidents_count(city) == before + 1
    changed = city.client.post(f"/r/{door['code']}", data={**form, "description": "改了内容"})  # the same form, other words
    assert changed.status_code == 409 and "已经提交过" in changed.get_data(as_text=True)
    assert incidents_count(city) == before + 1


def test_the_entrance_label_reports_for_the_building(city):
    door = a_door(city)
    html = city.client.get(scanned(city, door["building"])).get_data(as_text=True)
    assert "楼栋入口" in html and door["name"] in html
    sent = city.client.post(f"/r/{door['building']}", data={"form_key": form_key(html), "category": "hazard.fire_lane",
                                                           "description": "消防通道被电动车堵住"})
    assert sent.status_code == 303
    token = sent.headers["Location"].split("/follow/")[1].split("?")[0]
    with city.session() as s:
        incident = s.scalar(select(Incident).where(Incident.token == token))
        assert incident.building_id == door["building_id"] and incident.household_id is None and incident.channel == "qr"


def test_unknown_and_demolished_codes_get_a_clear_chinese_page(city):
    unknown = city.client.get("/r/NO-SUCH-DOOR")
    text = unknown.get_data(as_text=True)
    assert unknown.status_code == 404 and '<html lang="zh-CN">' in text and "无法识别的二维码" in text and "NO-SUCH-DOOR" in text
    before = incidents_count(city)
    assert city.client.post("/r/NO-SUCH-DOOR", data={"category": "order.noise", "description": "吵"}).status_code == 404
    assert "This code is not known" in city.app.test_client().get("/r/NO-SUCH-DOOR?lang=en").get_data(as_text=True)
    assert "找不到这个查询链接" in city.client.get("/follow/0123456789abcdef").get_data(as_text=True)
    door = a_door(city)
    assert city.client.post(f"/api/v1/buildings/{door['building']}/demolish", json={"note": "拆迁"},
                            headers=city.h("admin")).status_code == 200
    gone = city.client.get(f"/r/{door['code']}")
    assert gone.status_code == 410 and "这张二维码已停用" in gone.get_data(as_text=True)
    assert city.client.post(f"/r/{door['code']}", data={"category": "order.noise", "description": "楼道太吵"}).status_code == 410
    assert incidents_count(city) == before


def test_bad_input_gets_the_form_back_with_the_error_in_the_residents_language(city):
    door = a_door(city)
    path = f"/r/{door['code']}"
    before = incidents_count(city)
    bad = city.client.post(path, data={"category": "care.elderly", "description": " ", "contact": "13900001111"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "请选择问题类型。" in html and "请说明发生了什么。" in html
    assert 'value="13900001111"' in html and "请修改下面标出的内容后再提交。" in html  # what was typed is kept
    en = city.app.test_client().post(path + "?lang=en", data={"category": "livelihood.repair", "description": "x", "contact": "call me"})
    text = en.get_data(as_text=True)
    assert en.status_code == 400 and "Say what happened." in text and "That is not a phone number" in text
    city.app.config["MAX_PHOTO_BYTES"] = 1024 * 1024
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (1024 * 1024 + 10)
    large = city.client.post(path, data={"category": "livelihood.repair", "description": "电梯坏了",
                                         "photo": (io.BytesIO(big), "big.jpg")}, content_type="multipart/form-data")
    assert large.status_code == 400 and "照片太大（最大 1 MB）" in large.get_data(as_text=True)
    assert "电梯坏了" in large.get_data(as_text=True)
    not_photo = city.client.post(path, data={"category": "livelihood.repair", "description": "电梯坏了",
                                             "photo": (io.BytesIO(b"%PDF-1.4 not a photo"), "a.pdf")},
                                 content_type="multipart/form-data")
    assert not_photo.status_code == 400 and "这个文件不是照片" in not_photo.get_data(as_text=True)
    city.app.config["MAX_CONTENT_LENGTH"] = 200_000  # a body beyond what the service reads at all
    huge = city.client.post(path, data={"category": "livelihood.repair", "description": "电梯坏了",
                                        "photo": (io.BytesIO(b"\xff\xd8\xff" + b"\x00" * 300_000), "huge.jpg")},
                            content_type="multipart/form-data")
    assert huge.status_code == 413 and "照片太大" in huge.get_data(as_text=True) and 'id="report-form"' in huge.get_data(as_text=True)
    assert incidents_count(city) == before


def test_too_many_reports_from_one_address_get_a_page_saying_so(city):
    path = f"/r/{a_door(city)['code']}"
    for _ in range(10):
        assert city.client.post(path, data={"category": "order.noise", "description": ""}).status_code == 400
    over = city.client.post(path, data={"category": "order.noise", "description": "楼上装修太吵"})
    assert over.status_code == 429 and "提交的上报太多了" in over.get_data(as_text=True) and int(over.headers["Retry-After"]) > 0
    assert city.client.get(path).status_code == 200  # reading the page is not limited


def test_a_resident_reports_from_a_cheap_phone_with_no_script(city, artifacts_dir, backend):
    door = a_door(city)
    path = scanned(city, door["code"])
    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(**PHONE, java_script_enabled=False, base_url=base)
        page = context.new_page()
        seen = watch(page, base)
        sizes: list[int] = []
        page.on("response", lambda r: sizes.append(len(r.body())) if r.status < 300 else None)
        page.goto(path)
        assert page.locator("#place-door").inner_text() == f"{door['unit']}单元 {door['room']}室"
        page.screenshot(path=str(artifacts_dir / f"resident-door-{backend.name}.png"), full_page=True)
        assert sum(sizes) < 16_000, sizes  # the page and its stylesheet, on a bad signal
        width = page.evaluate("document.documentElement.scrollWidth")  # evaluated by Playwright, not the page
        assert width <= 360, f"the page is {width} px wide on a 360 px phone"
        # a slip first: one character, and the form comes back saying so, with the choice kept
        page.get_by_label("公共设施报修").check()
        page.fill("#description", "灯")
        page.click("#report-form button[type=submit]")
        page.wait_for_load_state("load")
        assert page.locator("#error-description").inner_text() == "请说明发生了什么。"
        assert page.get_by_label("公共设施报修").is_checked()
        page.screenshot(path=str(artifacts_dir / f"resident-error-{backend.name}.png"), full_page=True)
        page.fill("#description", "3单元楼道灯坏了，晚上看不见台阶")
        page.fill("#contact", "13900001111")
        page.set_input_files("#photo", files=[{"name": "IMG_0002.jpg", "mimeType": "image/jpeg", "buffer": jpeg(4)}])
        page.click("#report-form button[type=submit]")
        page.wait_for_url("**/follow/**")
        assert page.locator("#received").is_visible() and page.locator("#report-number").inner_text().isdigit()
        page.screenshot(path=str(artifacts_dir / f"resident-follow-{backend.name}.png"), full_page=True)
        number = int(page.locator("#report-number").inner_text())
        page.goto("/r/NO-SUCH-DOOR")
        page.screenshot(path=str(artifacts_dir / f"resident-unknown-{backend.name}.png"), full_page=True)
        errors = [e for e in seen.errors if "Failed to load resource" not in e]  # the form refused (400), the unknown code (404)
        assert not seen.outside() and not errors, (seen.outside(), errors)
        context.close()
    with city.session() as s:
        incident = s.get(Incident, number)
        assert incident.channel == "qr" and incident.household_id == door["id"] and incident.description.startswith("3单元")
