"""The grid worker's page on a cheap phone over a weak link: first load and repeat load, against the issue's targets.

    .venv/bin/python bench/phone.py [--runs 3] [--workers 2] [--keep]

A SpatiaLite database with the demo city (bench/out/demo-city, generated once) and its demo users is served by
`gridops serve --workers N` (gunicorn, as in production). Debian's Chromium, driven by Playwright, opens
/worker as the demo grid worker on a 390×844 phone (scale 3, touch, a GPS fix in the first grid, zh-CN), with
Chrome DevTools' throttling: the CPU 4× slower (Emulation.setCPUThrottlingRate) and the network at 1.6 Mbps
down, 750 kbps up, 150 ms round trip (Network.emulateNetworkConditions) — Lighthouse's "slow 4G" phone.

- **first load**: a fresh browser profile, signed in (the session cookie only: the sign-in page's own files are not
  counted), no cache, no service worker: from navigation start to the task list drawn (the first task card or the
  "nothing waiting" line), and the bytes the page took over the network until then (encoded, headers included);
  also, apart, the bytes the page took until it is idle (the map's tiles; the service worker registers only once the
  list is in, and its precache, fetched by the worker itself, is not counted).
- **repeat load**: the same phone once the service worker has installed and kept the page: a new visit to /worker,
  to the task list drawn again; and what still went over the network. For this visit the service worker's own
  DevTools target is throttled too (its network-first answers, the page and the tasks, take the weak link).

Medians of `--runs` runs. Targets (issue 16): first load under 3 s and 300 KB, repeat load under 1 s.
Writes bench/out/phone.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
CITY = OUT / "demo-city"
GRIDOPS = str(Path(sys.executable).with_name("gridops"))
TARGETS = {"first_ms": 3000, "first_kb": 300, "repeat_ms": 1000}
# a point inside the demo city's first grid, where the demo grid worker's visits are
FIX = {"longitude": 104.1003, "latitude": 30.6203, "accuracy": 15}
MBPS_DOWN, MBPS_UP, RTT_MS, CPU_SLOWDOWN = 1.6, 0.75, 150, 4
# where the time went: the page's answer, its last script, the first list of tasks asked and answered (ms)
STEPS = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const tasks = res.find((e) => e.name.includes('/api/v1/me/tasks'));
    const scripts = res.filter((e) => e.initiatorType === 'script' || e.name.endsWith('.js'));
    return {page_answered: Math.round(nav.responseEnd), dom_ready: Math.round(nav.domContentLoadedEventEnd),
            scripts_in: Math.round(Math.max(0, ...scripts.map((e) => e.responseEnd))),
            tasks_asked: tasks ? Math.round(tasks.startTime) : null, tasks_answered: tasks ? Math.round(tasks.responseEnd) : null};
}"""
# the page marks the moment its list of tasks is first in the document (worker.js render); painted right after,
# as the map is drawn only in the next frame
SHOWN = "() => performance.getEntriesByName('gridops:tasks-shown').length > 0"
SHOWN_AT = "performance.getEntriesByName('gridops:tasks-shown')[0].startTime"


def log(msg: str) -> None:
    print(msg, flush=True)


def gridops(url: str, *args: str) -> str:
    done = subprocess.run([GRIDOPS, *args], env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"gridops {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare(workdir: Path) -> tuple[str, str]:
    """A database with the demo city and its demo users; (its URL, the grid worker's token)."""
    url = f"sqlite:///{workdir / 'gridops.sqlite'}"
    if not (CITY / "city.json").exists():
        log("generating the demo city (once) …")
        gridops(url, "demo-city", "--seed", "7", "--out", str(CITY))
    gridops(url, "db", "upgrade")
    gridops(url, "load", str(CITY))
    tokens = workdir / "demo-users.txt"
    gridops(url, "demo-users", "--out", str(tokens))
    for line in tokens.read_text(encoding="utf-8").splitlines():  # role, name, token (gridops.demo.users.write_tokens)
        fields = line.split("\t")
        if fields[0] == "grid_worker":
            return url, fields[-1].strip()
    raise SystemExit(f"no grid worker in {tokens}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, workers: int, log_path: Path, instance: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "GRIDOPS_INSTANCE_PATH": str(instance), "GRIDOPS_SWEEP_INTERVAL_SECONDS": "0",
           "GRIDOPS_RATE_LIMITS": "false"}
    with log_path.open("w") as server_log:
        proc = subprocess.Popen([GRIDOPS, "serve", "--port", str(port), "--workers", str(workers)], env=env,
                                stdout=server_log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"  # localhost: a secure context, so the service worker may register
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as res:
                if res.status == 200:
                    return proc, base
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"the server did not start; see {log_path}")
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not answer within 90 s")


class Counter:
    """Bytes over the network, from DevTools' own account: every response's encoded length (headers included)
    as it finished loading, on the page's target and on its service worker's."""

    def __init__(self) -> None:
        self.bytes = 0
        self.by_url: dict[str, int] = {}
        self.urls: dict[str, str] = {}
        self.cached: set[str] = set()

    def watch(self, cdp: Any, tag: str) -> None:
        def sent(ev: dict[str, Any]) -> None:
            self.urls[tag + ev["requestId"]] = ev["request"]["url"]

        def cached(ev: dict[str, Any]) -> None:
            self.cached.add(tag + ev["requestId"])

        def done(ev: dict[str, Any]) -> None:
            key = tag + ev["requestId"]
            if key in self.cached:  # answered by the service worker or the memory cache: nothing went over the wire
                return
            n = int(ev.get("encodedDataLength") or 0)
            self.bytes += n
            url = self.urls.get(key, "?")
            self.by_url[url] = self.by_url.get(url, 0) + n

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.requestServedFromCache", cached)
        cdp.on("Network.responseReceived", lambda ev: cached(ev) if ev["response"].get("fromServiceWorker") else None)
        cdp.on("Network.loadingFinished", done)

    def top(self, n: int = 8) -> list[dict[str, Any]]:
        rows = sorted(self.by_url.items(), key=lambda kv: -kv[1])[:n]
        return [{"url": u.split("//", 1)[-1].split("/", 1)[-1][:90], "kb": round(b / 1024, 1)} for u, b in rows]


def throttle(cdp: Any) -> None:
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": RTT_MS, "downloadThroughput": MBPS_DOWN * 1e6 / 8, "uploadThroughput": MBPS_UP * 1e6 / 8})
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})


class WorkerTarget:
    """The service worker's own DevTools target, reached through the browser's session (Playwright opens no session
    on it): throttled as the page is, so its network-first answers (the page, the tasks) take the weak link too,
    and its bytes counted. Messages go through Target.sendMessageToTarget; its events come back the same way."""

    def __init__(self, browser_cdp: Any) -> None:
        self.cdp = browser_cdp
        targets = browser_cdp.send("Target.getTargets")["targetInfos"]
        sw = next(t for t in targets if t["type"] == "service_worker")
        self.session = browser_cdp.send("Target.attachToTarget", {"targetId": sw["targetId"], "flatten": False})["sessionId"]
        self.handlers: dict[str, list[Any]] = {}
        self.n = 0
        browser_cdp.on("Target.receivedMessageFromTarget", self._received)

    def send(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.n += 1
        self.cdp.send("Target.sendMessageToTarget", {"sessionId": self.session,
                                                     "message": json.dumps({"id": self.n, "method": method, "params": params or {}})})

    def on(self, event: str, fn: Any) -> None:
        self.handlers.setdefault(event, []).append(fn)

    def _received(self, ev: dict[str, Any]) -> None:
        if ev.get("sessionId") != self.session:
            return
        msg = json.loads(ev["message"])
        for fn in self.handlers.get(msg.get("method", ""), []):
            fn(msg["params"])


def one_run(p: Any, chromium: str, base: str, token: str) -> dict[str, Any]:
    browser = p.chromium.launch(executable_path=chromium, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"])
    try:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True, has_touch=True,
            user_agent="Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/120.0 Mobile Safari/537.36",
            geolocation=FIX, permissions=["geolocation"], locale="zh-CN", timezone_id="Asia/Shanghai", base_url=base)
        # signed in as a phone would be after the sign-in page: the session cookie, and nothing of that page's files
        res = context.request.post("/login", form={"token": token}, max_redirects=0)
        assert res.status in (302, 303), res.status
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        throttle(cdp)
        first_seen = Counter()
        first_seen.watch(cdp, "page:")
        page.goto("/worker", wait_until="commit")
        page.wait_for_function(SHOWN, timeout=60000, polling=50)
        first_ms = page.evaluate(SHOWN_AT)  # since this document's navigation started
        first_steps = page.evaluate(STEPS)
        first_bytes = first_seen.bytes
        first_top = first_seen.top()
        # until idle: the map's tiles, the grid, the service worker installed (registered once the list is in: its
        # precache is fetched by the worker itself, not throttled here, and not counted in first_idle_kb)
        page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=60000)
        page.wait_for_function("() => document.documentElement.dataset.kept === '1'", timeout=60000)
        page.wait_for_load_state("networkidle")
        idle_bytes = first_seen.bytes

        again = Counter()
        again.watch(cdp, "page2:")
        worker = WorkerTarget(browser.new_browser_cdp_session())
        throttle(worker)  # from now on the worker's own fetches take the weak link too
        again.watch(worker, "sw2:")
        page.goto("about:blank")
        page.goto("/worker", wait_until="commit")
        page.wait_for_function(SHOWN, timeout=60000, polling=50)
        repeat_ms = page.evaluate(SHOWN_AT)
        repeat_steps = page.evaluate(STEPS)
        from_sw = page.evaluate("performance.getEntriesByType('resource').filter((e) => e.transferSize === 0).length")
        page.wait_for_load_state("networkidle")
        context.close()
        return {"first_ms": round(first_ms), "first_kb": round(first_bytes / 1024, 1), "first_idle_kb": round(idle_bytes / 1024, 1),
                "first_biggest": first_top, "first_steps": first_steps, "repeat_steps": repeat_steps,
                "repeat_ms": round(repeat_ms), "repeat_kb": round(again.bytes / 1024, 1),
                "repeat_over_network": again.top(), "repeat_resources_without_network": from_sw}
    finally:
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the database directory")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Chromium is not installed: bash scripts/install-system-deps --browser")
    OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="gridops-phone-db-"))
    log(f"database and demo users in {workdir} …")
    url, token = prepare(workdir)
    proc, base = start_server(url, args.workers, OUT / "phone-server.log", workdir / "instance")
    runs: list[dict[str, Any]] = []
    try:
        with sync_playwright() as p:
            for k in range(args.runs):
                r = one_run(p, chromium, base, token)
                runs.append(r)
                log(f"run {k + 1}: first {r['first_ms']} ms, {r['first_kb']} KB (until idle {r['first_idle_kb']} KB); "
                    f"repeat {r['repeat_ms']} ms, {r['repeat_kb']} KB over the network")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    med = {key: statistics.median(r[key] for r in runs) for key in ("first_ms", "first_kb", "first_idle_kb", "repeat_ms", "repeat_kb")}
    verdict = {"first_ms": med["first_ms"] < TARGETS["first_ms"], "first_kb": med["first_kb"] < TARGETS["first_kb"],
               "repeat_ms": med["repeat_ms"] < TARGETS["repeat_ms"]}
    ok = lambda good: "ok" if good else "OVER"  # noqa: E731
    log("")
    log(f"phone: 390x844, CPU {CPU_SLOWDOWN}x slower, {MBPS_DOWN} Mbps down / {MBPS_UP} up, {RTT_MS} ms RTT; median of {len(runs)}")
    log(f"  first load:  {med['first_ms']:6.0f} ms  (target < {TARGETS['first_ms']} ms)  {ok(verdict['first_ms'])}")
    log(f"               {med['first_kb']:6.1f} KB  (target < {TARGETS['first_kb']} KB)  {ok(verdict['first_kb'])}"
        f"   · until idle, with the map (not the service worker's precache): {med['first_idle_kb']:.1f} KB")
    log(f"  repeat load: {med['repeat_ms']:6.0f} ms  (target < {TARGETS['repeat_ms']} ms)  {ok(verdict['repeat_ms'])}"
        f"   · {med['repeat_kb']:.1f} KB over the network")
    log(f"  where the time went (ms, last run): first {runs[-1]['first_steps']}; repeat {runs[-1]['repeat_steps']}")
    log("  biggest on the first load: " + ", ".join(f"{t['url']} {t['kb']} KB" for t in runs[-1]["first_biggest"][:5]))
    (OUT / "phone.json").write_text(json.dumps({
        "conditions": {"viewport": "390x844", "cpu_slowdown": CPU_SLOWDOWN, "down_mbps": MBPS_DOWN, "up_mbps": MBPS_UP,
                       "rtt_ms": RTT_MS, "server_workers": args.workers, "backend": "spatialite"},
        "targets": TARGETS, "median": med, "meets": verdict, "runs": runs}, ensure_ascii=False, indent=2))
    log(f"wrote {OUT / 'phone.json'}")


if __name__ == "__main__":
    main()
