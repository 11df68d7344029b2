"""QR door labels as the street office prints them and a phone reads them: the PDF's pages rendered and every
code decoded (PDFium, zxing-cpp), one label per household's door and one for the entrance, each the URL of its
door's report page at the service's public address; who may print them; the same from the command line."""

from __future__ import annotations

import io
import math

import pypdfium2 as pdfium
import zxingcpp
from click.testing import CliRunner
from PIL import Image

from gridops.cli import cli
from gridops.incidents.doors import door_url
from gridops.registers import buildings, households, labels
from gridops.web.context import use_case_context
from tests.conftest import TEST_GRID

PUBLIC = "https://grid.example.gov.cn"


def decoded_pdf(data: bytes) -> tuple[list[str], int, str]:
    """Every QR code a phone would read off the printed pages, the number of pages, and the pages' text."""
    pdf = pdfium.PdfDocument(data)
    try:
        found, text = [], []
        for page in pdf:
            image = page.render(scale=3).to_pil()
            found += [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
            text.append(page.get_textpage().get_text_range())
        return found, len(pdf), "\n".join(text)
    finally:
        pdf.close()


def decoded_png(data: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def building_in_test_grid(city) -> tuple[str, list[dict]]:
    """The building of the test grid with the most households, and its doors (as its page lists them)."""
    with city.session() as s:
        found = buildings.list_buildings(s, use_case_context(city.app), None, buildings.BuildingQuery(area=TEST_GRID, limit=500))
        code = max(found, key=lambda b: (b["households"], b["code"]))["code"]
        return code, households.of_building(s, code)


def test_a_sheet_has_one_label_per_door_and_each_code_opens_its_door(city):
    city.app.config["PUBLIC_URL"] = PUBLIC + "/"
    code, doors = building_in_test_grid(city)
    assert len(doors) > 12  # more than one sheet
    res = city.client.get(f"/api/v1/buildings/{code}/labels?format=pdf", headers=city.h("community_admin"))
    assert res.status_code == 200 and res.mimetype == "application/pdf", res.get_data(as_text=True)[:300]
    assert f"labels-{code}.pdf" in res.headers["Content-Disposition"]
    found, pages, text = decoded_pdf(res.data)
    expected = [door_url(PUBLIC, code)] + [door_url(PUBLIC, d["code"]) for d in doors]
    assert sorted(found) == sorted(expected)  # every label read back, none twice, none missing
    assert pages == math.ceil(len(expected) / (labels.COLUMNS * labels.ROWS))
    # what a resident reads on the label: the door in Chinese, the code in plain letters, and whom it goes to
    d = next(d for d in doors if d["unit"] and d["room"])
    assert f"{d['unit']}单元 {d['room']}室" in text and d["code"] in text and "扫码上报" in text and "楼栋入口" in text
    assert "网格员" in text


def test_the_label_encodes_what_segno_makes_of_the_url(city):
    """The module matrix drawn is segno's for the URL (what a decoder reads is checked above; this pins the rule)."""
    code, doors = building_in_test_grid(city)
    label = labels.Label(doors[0]["code"], door_url(PUBLIC, doors[0]["code"]), "楼", "1单元 101室", "")
    assert label.qr().matrix == labels.qr_code(door_url(PUBLIC, doors[0]["code"])).matrix
    assert label.qr().designator in ("3-M", "3-Q", "4-M", "4-Q")  # small enough to read at 34 mm from a phone


def test_without_a_public_url_the_labels_use_the_address_the_request_came_in_on(city):
    code, doors = building_in_test_grid(city)
    one = doors[0]["code"]
    res = city.client.get(f"/api/v1/buildings/{code}/labels?format=png&door={one}", headers=city.h("planner"),
                          base_url="http://10.0.0.8:5000")
    assert res.status_code == 200 and res.mimetype == "image/png"
    assert decoded_png(res.data) == [f"http://10.0.0.8:5000/r/{one}"]
    pdf = city.client.get(f"/api/v1/buildings/{code}/labels?door={one}", headers=city.h("planner"))
    assert decoded_pdf(pdf.data)[0] == [f"http://localhost/r/{one}"]  # one door reprinted alone
    entrance = city.client.get(f"/api/v1/buildings/{code}/labels?format=png&door={code}", headers=city.h("planner"))
    assert decoded_png(entrance.data) == [f"http://localhost/r/{code}"]
    only_doors = city.client.get(f"/api/v1/buildings/{code}/labels?entrance=false", headers=city.h("planner"))
    assert f"http://localhost/r/{code}" not in decoded_pdf(only_doors.data)[0]


def test_who_may_print_a_buildings_labels(city, english):
    code, _ = building_in_test_grid(city)
    path = f"/api/v1/buildings/{code}/labels"
    assert city.client.get(path, headers=city.h("admin")).status_code == 200
    assert city.client.get(path, headers=city.h("planner")).status_code == 200
    assert city.client.get(path, headers=city.h("community_admin")).status_code == 200  # their own ground
    for who in ("grid_worker", "command_centre", "resident"):
        assert city.client.get(path, headers=city.h(who)).status_code == 403, who
    assert city.client.get(path).status_code == 401
    from gridops.access.users import add_user

    with city.session() as s:
        _, elsewhere = add_user(s, "another community's admin", "community_admin", areas=["510199002003"])
    refused = city.client.get(path, headers={"Authorization": f"Bearer {elsewhere}"})
    assert refused.status_code == 403 and "not on ground you answer for" in refused.json["detail"]
    png = city.client.get(path + "?format=png", headers=city.h("admin"))
    assert png.status_code == 400 and png.json["field"] == "door"
    assert city.client.get(path + "?format=svg", headers=city.h("admin")).status_code == 400
    assert city.client.get(path + "?door=NO-SUCH", headers=city.h("admin")).status_code == 404
    gone = city.client.post(f"/api/v1/buildings/{code}/demolish", json={"note": "旧改拆除"}, headers=city.h("admin"))
    assert gone.status_code == 200
    demolished = city.client.get(path, headers=city.h("admin"))
    assert demolished.status_code == 409 and "demolished" in demolished.json["detail"]


def test_the_building_page_has_the_print_button_for_those_who_keep_it(city):
    code, doors = building_in_test_grid(city)
    page = city.client.get(f"/admin/buildings/{code}", headers=city.h("community_admin")).get_data(as_text=True)
    assert 'id="print-labels"' in page and f"/api/v1/buildings/{code}/labels?format=pdf" in page and "打印门牌二维码" in page
    assert f"door={doors[0]['code']}" in page  # each door's label again, alone
    read_only = city.client.get(f"/admin/buildings/{code}", headers=city.h("command_centre")).get_data(as_text=True)
    assert 'id="print-labels"' not in read_only


def test_the_command_line_writes_the_same_labels(city, writable_demo_url, tmp_path, monkeypatch):
    code, doors = building_in_test_grid(city)
    monkeypatch.setenv("DATABASE_URL", writable_demo_url)
    monkeypatch.setenv("GRIDOPS_INSTANCE_PATH", str(tmp_path / "cli-instance"))
    monkeypatch.delenv("GRIDOPS_PUBLIC_URL", raising=False)
    out = tmp_path / "labels.pdf"
    refused = CliRunner().invoke(cli, ["buildings", "labels", code, "--out", str(out)])
    assert refused.exit_code != 0 and "GRIDOPS_PUBLIC_URL" in refused.output and not out.exists()
    monkeypatch.setenv("GRIDOPS_PUBLIC_URL", PUBLIC)
    done = CliRunner().invoke(cli, ["buildings", "labels", code, "--out", str(out)])
    assert done.exit_code == 0, done.output
    n = len(doors) + 1
    assert f"building {code}: {n} label(s)" in done.output and "A4 page(s)" in done.output
    web = city.client.get(f"/api/v1/buildings/{code}/labels", headers=city.h("admin"), base_url=PUBLIC)
    assert sorted(decoded_pdf(out.read_bytes())[0]) == sorted(decoded_pdf(web.data)[0])  # one function behind both
    png = tmp_path / "door.png"
    one = CliRunner().invoke(cli, ["buildings", "labels", code, "--out", str(png), "--door", doors[0]["code"],
                                   "--base-url", "https://other.example"])
    assert one.exit_code == 0 and decoded_png(png.read_bytes()) == [f"https://other.example/r/{doors[0]['code']}"]
