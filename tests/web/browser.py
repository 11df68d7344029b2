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
