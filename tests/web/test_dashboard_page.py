"""The measures and the big screen in headless Chromium, in Chinese: a clerk sorts the grids, sees the flags and the
charts and downloads the workbook by the page's own link; the wall's counts move when a report comes in."""

from __future__ import annotations

import io

from tests.conftest import TEST_POINT
from tests.web.browser import ON_ONE_BACKEND, browser, live_server, watch


def _sign_in(page, city, path: str, who: str = "command_centre"):
    page.goto(path)
    page.fill("#token", city.tokens[who])
    page.click("button[type=submit]")
    page.wait_for_url("**" + path.split("?")[0] + "*")


def _numbers(page, table: str, column: int) -> list[float | None]:
    return page.evaluate(f"""() => Array.from(document.querySelectorAll("{table} tbody tr")).map(tr => {{
        const v = tr.cells[{column}].getAttribute("data-v"); return v === "" ? null : Number(v); }})""")


@ON_ONE_BACKEND
def test_a_clerk_sorts_the_grids_sees_flags_and_charts_and_downloads_the_workbook(city, artifacts_dir, backend):
    from openpyxl import load_workbook

    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai",
                                base_url=base, accept_downloads=True)
        page = context.new_page()
        seen = watch(page, base)
        _sign_in(page, city, "/dashboard?level=grid&month=2026-10")
        table = page.locator("#measures")
        table.locator("tbody tr").first.wait_for()
        assert table.locator("tbody tr").count() == 64
        headers = table.locator("thead th").all_inner_texts()
        assert "按期结案率" in " ".join(headers) and "主动发现率" in " ".join(headers) and "逾期数" in " ".join(headers)
        assert not any("." in h and h.split(".")[0].isalpha() for h in headers)  # categories by name, no codes
        assert page.locator("#measures td.flag-red, #measures td.flag-amber").count() > 0
        assert page.locator("#measures td.flag-green").count() > 0
        assert "▲" in table.inner_text() or "▼" in table.inner_text()
        assert page.locator("#flag-legend").inner_text().count("%") >= 4  # the thresholds are said
        # the charts are drawn
        page.wait_for_function("() => (window.gridopsDashboardCharts || []).length === 2")
        assert page.locator("#chart-daily canvas").count() == 1 and page.locator("#chart-worst canvas").count() == 1
        page.screenshot(path=str(artifacts_dir / "dashboard-zh.png"))

        # sort by 按期结案率: once descending, again ascending, the rows without a value last
        column = next(k for k, h in enumerate(headers) if "按期结案率" in h)
        table.locator("thead th").nth(column).locator("button").click()
        assert table.locator("thead th").nth(column).get_attribute("aria-sort") == "descending"
        got = [v for v in _numbers(page, "#measures", column) if v is not None]
        assert got == sorted(got, reverse=True) and len(got) > 10
        table.locator("thead th").nth(column).locator("button").click()
        got = _numbers(page, "#measures", column)
        values = [v for v in got if v is not None]
        assert values == sorted(values) and got[: len(values)] == values
        page.screenshot(path=str(artifacts_dir / "dashboard-zh-sorted.png"))
        page.locator("#grid-workers").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "dashboard-zh-workers.png"), full_page=False)

        # the workbook, by the page's link
        with page.expect_download() as download:
            page.click("#export-xlsx")
        path = download.value.path()
        book = load_workbook(io.BytesIO(open(path, "rb").read()))
        assert "网格" in book.sheetnames and "街道" in book.sheetnames and "社区" in book.sheetnames and "网格员" in book.sheetnames
        header = [c.value for c in book["网格"][1]]
        assert "按期结案率" in header and "主动发现率" in header
        assert book["网格"].max_row == 65  # the header and the 64 grids
        assert seen.outside() == [] and seen.errors == [], (seen.outside(), seen.errors)
        context.close()


@ON_ONE_BACKEND
def test_the_big_screen_counts_move_when_a_report_comes_in(city, artifacts_dir, backend):
    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=base)
        page = context.new_page()
        seen = watch(page, base)
        _sign_in(page, city, "/screen")
        page.wait_for_function("() => Number(document.body.dataset.updates || 0) >= 1")
        page.wait_for_function("() => document.querySelectorAll('#screen-map path.leaflet-interactive').length >= 64")
        page.wait_for_function("() => document.getElementById('live-state').dataset.state === 'live'")
        before = int(page.evaluate("document.body.dataset.reportedToday"))
        assert page.inner_text("#n-today-reported") == str(before)
        open_before = int(page.inner_text("#n-open").replace(",", ""))
        assert page.locator("#flow li").count() == 6 and page.locator("#worst li").count() == 5
        assert page.locator("#chart-flow canvas").count() == 1
        page.screenshot(path=str(artifacts_dir / "screen-zh.png"))

        res = city.client.post("/api/v1/incidents", json={"category": "care.elderly", "lon": TEST_POINT[0], "lat": TEST_POINT[1],
                                                          "description": "独居老人需要帮助"}, headers=city.h("resident"))
        assert res.status_code == 201, res.json
        page.wait_for_function(f"() => Number(document.body.dataset.reportedToday) === {before + 1}", timeout=10000)
        assert page.inner_text("#n-today-reported") == str(before + 1)
        assert int(page.inner_text("#n-open").replace(",", "")) == open_before + 1
        assert page.inner_text("#flow li[data-step=reported] b") == str(before + 1)
        page.screenshot(path=str(artifacts_dir / "screen-zh-after.png"))
        assert seen.outside() == [] and seen.errors == [], (seen.outside(), seen.errors)
        context.close()
