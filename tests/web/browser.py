"""Real pages in a real browser: Debian's Chromium driven by Playwright, against the app served on localhost.

`playwright install` cannot download a browser here, so the system's Chromium is
used (scripts/install-system-deps installs it for `make test`). Every request the
page makes is recorded, so a test can prove that nothing leaves the service, and
every console message, so a test can prove the page has no errors.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from werkzeug.serving import make_server

from tests.conftest import IN_CI

# A walk through a page whose behaviour is the page's own (its scripts, what it shows and asks), not the backend's.
# The API under it is tested on both backends (each route's answers against the document by tests/web/test_openapi.py,
# each use case by its own tests), so such a walk runs once, on the embedded backend (always there).
ON_ONE_BACKEND = pytest.mark.parametrize("backend", ["spatialite"], indirect=True)

# An init script: window.__busy counts the page's fetches still under way, each until the caller's own code after
# its answer (and after reading the answer's body) has run, so `settled` below waits on what the page asked for
# being shown, not on a fixed time. (The event stream is an EventSource, not a fetch: it never counts.)
COUNT_FETCHES = """
window.__busy = 0;
(() => {
    const fetch = window.fetch;
    const done = () => { setTimeout(() => { window.__busy--; }, 0); };
    const counted = (promise) => { window.__busy++; promise.then(done, done); return promise; };
    window.fetch = function (...args) {
        return counted(fetch.apply(this, args).then((res) => {
            for (const read of ["json", "text", "blob", "arrayBuffer", "formData"]) {
                const original = res[read].bind(res);
                res[read] = () => counted(original());
            }
            return res;
        }));
    };
})();
"""


def settled(page, timeout: float = 20000) -> None:
    """Every fetch the page made has been answered and its answer handled (context.add_init_script(COUNT_FETCHES))."""
    page.wait_for_function("() => window.__busy === 0", timeout=timeout)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Chromium is not installed (scripts/install-system-deps installs it for `make test`)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextmanager
def live_server(app) -> Iterator[str]:
    """The app on a free localhost port, in a thread of this process (so a test's clock applies to it)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@dataclass
class Watch:
    """What a page did: every URL it asked for, and its console errors and uncaught exceptions."""

    base: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def outside(self) -> list[str]:
        return [u for u in self.requests if not (u.startswith(self.base) or u.startswith(("data:", "blob:", "about:")))]


@contextmanager
def browser(**context_options) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield p, b
        finally:
            b.close()


def watch(page, base: str) -> Watch:
    seen = Watch(base)
    page.on("request", lambda r: seen.requests.append(r.url))
    page.on("console", lambda m: seen.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(f"uncaught: {e}"))
    return seen
