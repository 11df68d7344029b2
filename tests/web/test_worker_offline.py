"""The worker's phone with no signal (issue 16): the page, its tasks and every step stay on the phone, and reach
the server once, in order, with the phone's own times, when the signal comes back — even with the server
restarted meanwhile. One walk, on a Pixel 5, in Chinese."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select
from werkzeug.serving import make_server

from gridops.core.models import Incident, IncidentEvent
from tests.web.browser import ON_ONE_BACKEND, browser, watch
from tests.web.test_worker_page import JPEG, NEAR, _card, _phone, _report, _sign_in


class Server:
    """The app on one localhost port that can be stopped and started again (the server restarted while the
    phone has no signal: nothing of the phone's work may depend on the server having stayed up)."""

    def __init__(self, app) -> None:
        self.app, self.port, self._server, self._thread = app, 0, None, None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None


@contextmanager
def server_of(app):
    s = Server(app)
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _kept(page) -> int:
    return page.locator("#outbox-list li").count()


@ON_ONE_BACKEND
def test_nothing_a_worker_does_with_no_signal_is_lost(city, artifacts_dir, backend):
    iid = _report(city, description="楼道堆放杂物堵住安全出口")["id"]
    t = city.clock["t"]
    with server_of(city.app) as server, browser() as (p, b):
        context, page = _phone(p, b, server.base)
        context.set_geolocation({**NEAR, "accuracy": 12})
        page.clock.set_fixed_time(t - timedelta(minutes=50))
        seen = watch(page, server.base)
        _sign_in(page, city)
        card = _card(page, "楼道堆放杂物")
        card.locator(".dist").wait_for()
        # installed: the service worker controls the page and has kept what the page fetched before it did
        page.wait_for_function("() => navigator.serviceWorker.controller !== null && document.documentElement.dataset.kept === '1'",
                               timeout=20000)
        assert "已同步" in page.inner_text("#sync")
        manifest = page.evaluate("() => fetch(document.querySelector('link[rel=manifest]').href).then((r) => r.json())")
        assert manifest["start_url"] == "/worker" and manifest["display"] == "standalone" and manifest["name"] == "gridops · 网格员"

        server.stop()  # no signal in the stairwell: and the server restarts meanwhile
        context.set_offline(True)
        page.wait_for_function("() => document.getElementById('sync').textContent.includes('离线')")
        page.clock.set_fixed_time(t - timedelta(minutes=40))
        card.locator("button[data-step=take]").click()
        page.wait_for_function("() => document.getElementById('status').textContent.includes('已接单（已存在手机上')")
        page.clock.set_fixed_time(t - timedelta(minutes=30))
        card.locator("button[data-step=check_in]").click()  # the step the phone now allows, before the server knows
        page.wait_for_function("() => document.getElementById('status').textContent.includes('签到（已存在手机上')")
        page.clock.set_fixed_time(t - timedelta(minutes=20))
        card.locator("button[data-step=resolve]").click()
        page.fill("#step-note", "已清理杂物，安全出口畅通")
        page.set_input_files("#step-photo", files=[{"name": "cleared.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
        page.click("#step-ok")
        page.wait_for_function("() => document.getElementById('status').textContent.includes('已反馈（已存在手机上')")
        assert "已反馈 · 尚未发送" in card.inner_text()
        page.clock.set_fixed_time(t - timedelta(minutes=10))
        page.click("#report-open")
        page.select_option("#report-category", "hazard.ebike_charging")
        page.set_input_files("#report-photo", files=[{"name": "ebike.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
        page.fill("#report-note", "3 单元楼道有电动车在充电")
        assert "精度" in page.inner_text("#report-where")  # the position goes with its accuracy
        page.click("#report-ok")
        page.wait_for_function("() => document.querySelectorAll('#outbox-list li').length === 4")
        page.screenshot(path=str(artifacts_dir / "worker-offline-kept.png"))

        page.reload()  # still no signal: the page comes from the phone, and so does the work
        page.wait_for_function("() => document.querySelectorAll('#outbox-list li').length === 4")
        card = _card(page, "楼道堆放杂物")
        card.wait_for()
        assert "已反馈 · 尚未发送" in card.inner_text() and card.locator("button[data-step]").count() == 0
        sync = page.inner_text("#sync")
        assert "离线 · 上次同步" in sync and "4 项待发送" in sync, sync
        assert [page.locator("#outbox-list li").nth(k).get_attribute("data-step") for k in range(4)] == [
            "take", "check_in", "resolve", "report"]
        page.wait_for_function("() => document.querySelectorAll('#map .leaflet-overlay-pane path').length > 3")  # streets kept
        page.wait_for_timeout(800)  # the map's zoom animation ends
        page.screenshot(path=str(artifacts_dir / "worker-offline-reloaded.png"))  # what the phone's screen shows
        with city.session() as s:
            assert s.scalar(select(Incident.status).where(Incident.id == iid)) == "reported"  # nothing reached the server

        server.start()  # the signal is back
        context.set_offline(False)
        page.wait_for_function("() => document.querySelectorAll('#outbox-list li').length === 0", timeout=30000)
        page.wait_for_function("() => !document.getElementById('sync').textContent.includes('离线')")
        page.screenshot(path=str(artifacts_dir / "worker-offline-synced.png"))
        assert [e for e in seen.errors if e.startswith("uncaught")] == []
        assert seen.outside() == []
        context.close()

    with city.session() as s:
        events = list(s.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == iid).order_by(IncidentEvent.seq)))
        assert [e.action for e in events] == ["report", "take", "check_in", "resolve"]  # each step once, in order
        assert [e.device_at for e in events[1:]] == [t - timedelta(minutes=m) for m in (40, 30, 20)]  # when it was done
        assert all(e.at == t for e in events[1:])  # and when the server stored it
        check_in = events[2]
        assert check_in.location is not None  # the position at the tap
        found = s.scalar(select(Incident).where(Incident.channel == "patrol", Incident.description == "3 单元楼道有电动车在充电"))
        assert found is not None and found.category_code == "hazard.ebike_charging"
        first = s.scalar(select(IncidentEvent).where(IncidentEvent.incident_id == found.id, IncidentEvent.seq == 1))
        assert first.device_at == t - timedelta(minutes=10) and first.data["accuracy_m"] == 12  # where, and how sure
        assert first.actor_label.startswith("grid_worker:")
