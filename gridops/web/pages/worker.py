"""The grid worker's phone page, installable and offline-first: a web app manifest, a service worker
(Workbox, vendored) that keeps the page, its scripts, today's tasks and the map's data on the phone, and
an outbox in IndexedDB that keeps every step until the server has stored it."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Response, current_app, render_template, url_for
from flask_babel import get_locale, gettext
from sqlalchemy import select

from gridops.access.policy import ROLES
from gridops.core.models import Worker
from gridops.registers.categories import list_categories
from gridops.web.i18n import N_, status_words
from gridops.web.pages.base import PageAnswer, pages, signed_in
from gridops.web.request import PAGE_HEADER, database

# the words worker.js shows, in the reader's language (gridopsT(key, {…}))
STRINGS: dict[str, str] = {
    "step_take": N_("Accept"), "step_reject": N_("Send back"), "step_check_in": N_("Check in"),
    "step_resolve": N_("Resolve"), "step_visit": N_("Record visit"),
    "done_take": N_("Accepted: {title}"), "done_reject": N_("Sent back for routing: {title}"),
    "done_check_in": N_("Checked in on site: {title}"), "done_resolve": N_("Resolved, waiting for the grid leader to verify: {title}"),
    "done_visit": N_("Visit recorded: {title}"), "done_report": N_("Patrol report stored: {title}"),
    "done_report_on_spot": N_("Handled on the spot and closed: {title}"),
    "kept_take": N_("Accepted (kept on the phone, sent when there is signal)"),
    "kept_check_in": N_("Checked in at {time} (kept on the phone, sent when there is signal)"),
    "kept_resolve": N_("Resolved (kept on the phone, sent when there is signal)"),
    "kept_reject": N_("Sent back (kept on the phone, sent when there is signal)"),
    "kept_visit": N_("Visit recorded (kept on the phone, sent when there is signal)"),
    "kept_report": N_("Patrol report kept on the phone: sent when there is signal"),
    "state_pending_take": N_("accepted · not sent yet"), "state_pending_check_in": N_("checked in · not sent yet"),
    "state_pending_resolve": N_("resolved · not sent yet"), "state_pending_reject": N_("sent back · not sent yet"),
    "state_pending_visit": N_("visit recorded · not sent yet"),
    "status": N_("Status: {status}"),
    "due_in": N_("due in {span} ({time})"), "overdue": N_("overdue by {span} (was due {time})"),
    "minutes": N_("{n} min"), "hours": N_("{h} h {m} min"), "days": N_("{d} d {h} h"),
    "no_visits": N_("No visits due today."), "no_tasks": N_("No incidents waiting for you."),
    "load_failed": N_("Could not load the tasks: {error}"),
    "synced": N_("Synced {time}"), "offline_synced": N_("Offline · last synced {time}"),
    "offline_never": N_("Offline · nothing synced on this phone yet"),
    "outbox_waiting": N_("{n} waiting to be sent"), "outbox_sending": N_("Sending {n}…"),
    "outbox_retry": N_("{n} waiting · next try in {s} s"),
    "outbox_signin": N_("Sign in again to send the {n} waiting (they stay on the phone)"),
    "outbox_refused": N_("Not accepted by the server"),
    "outbox_item": N_("{what} · done {time}"),
    "outbox_dismiss": N_("Remove"), "outbox_retry_now": N_("Send again"),
    "what_take": N_("Accept"), "what_check_in": N_("Check-in"), "what_resolve": N_("Resolution"),
    "what_reject": N_("Send back"), "what_visit": N_("Visit"), "what_report": N_("Patrol report"),
    "fix_conflict": N_("The task changed meanwhile (reassigned, or already done): pull to refresh the list; remove this step "
                       "if it is no longer yours."),
    "fix_too_far": N_("You were {distance} from the place: go there and check in again."),
    "fix_clock": N_("The phone's clock is wrong: set the date and time to automatic, then send again."),
    "fix_other": N_("Correct it and do the step again, or remove it."),
    "ask_reject": N_("Why can you not take it?"), "ask_reject_hint": N_("e.g. not my grid / on leave"),
    "ask_resolve": N_("What was done?"), "ask_resolve_hint": N_("what you did"),
    "ask_visit": N_("How was the visit?"), "ask_visit_hint": N_("in good health / needs help…"),
    "need_note": N_("Please write a note."),
    "no_position": N_("Your position is not known yet: allow location and wait for a fix."),
    "you": N_("you"),
    "position": N_("You are here (±{accuracy} m)"), "position_near": N_("You are at {place} (±{accuracy} m)"),
    "position_no_building": N_("No registered building within 150 m of you (±{accuracy} m)"),
    "navigate": N_("Navigate"), "app_amap": N_("AMap"), "app_baidu": N_("Baidu Maps"), "app_tencent": N_("Tencent Maps"),
    "reporter": N_("Reporter:"), "call": N_("Call {number}"), "photo_preview": N_("the photo as it will be sent"),
    "no_geolocation": N_("This device cannot tell its position."),
    "position_failed": N_("Position unavailable: {error} (check-in needs it)"),
    "report_title": N_("Patrol report"), "report_need_category": N_("Choose what you found."),
    "report_need_photo": N_("Handled on the spot needs a photo of what was done."),
    "report_where": N_("Position: ±{accuracy} m"),
    # the loop's statuses come from the one table (gridops.incidents.names, through status_words())
    "leave_unsent": N_("{n} steps are not sent yet. Signing out now loses them. Sign out anyway?"),
}


def _category_names(session: Any) -> list[dict[str, Any]]:
    """What a worker may report on patrol: every active category, public or internal, by name in the page's language."""
    english = str(get_locale()) == "en"
    return [{"code": c["code"], "name": (c.get("name_en") if english else c.get("name")) or c["name"]}
            for c in list_categories(session, active=True)]


@pages.get("/worker")
def worker() -> PageAnswer | str:
    """The grid worker's phone page: tasks with due times and distances, a small map, the steps, today's visits,
    patrol reports; all of it kept on the phone and sent when there is signal."""
    who = signed_in()
    role = ROLES.get(who.role)
    role_name = (role.name_en if str(get_locale()) == "en" else role.name) if role else who.role
    if who.worker_id is None:
        takers = [(r.name_en if str(get_locale()) == "en" else r.name) for r in ROLES.values() if r.worker is not None]
        return render_template("worker.html", who=who, role_name=role_name, not_worker=True, roles=takers), 403
    with database().session() as session:
        categories = _category_names(session)
        worker_code = session.scalar(select(Worker.code).where(Worker.id == who.worker_id))
    return render_template("worker.html", who=who, role_name=role_name, not_worker=False, page_header=PAGE_HEADER,
                           tile_url=current_app.config["TILE_URL"] or "", strings={**STRINGS, **status_words()}, categories=categories,
                           worker_code=worker_code)


@pages.get("/worker/manifest.webmanifest")
def worker_manifest() -> Response:
    """The web app manifest: the worker's page on the phone's home screen, opening full screen on its tasks."""
    body = {
        "name": gettext("gridops · grid worker"), "short_name": gettext("Grid tasks"),
        "description": gettext("Tasks, check-ins, resolutions and patrol reports, with or without signal."),
        "lang": "en" if str(get_locale()) == "en" else "zh-CN", "start_url": "/worker", "scope": "/worker", "id": "/worker",
        "display": "standalone", "orientation": "portrait", "background_color": "#f4f6f9", "theme_color": "#102a43",
        "icons": [
            {"src": url_for("static", filename="icons/worker-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": url_for("static", filename="icons/worker-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": url_for("static", filename="icons/worker-maskable-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
        ],
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


# what the page needs to open with no signal: kept by the service worker when it installs (precached, by revision)
PRECACHED = ("vendor/leaflet/leaflet.css", "vendor/leaflet/leaflet.js", "basemap.css", "basemap.js", "worker.css", "bell.css",
             "bell.js", "strings.js", "api.js", "worker.js", "vendor/idb/idb.js", "icons/worker-192.png", "icons/worker-512.png")


@lru_cache(maxsize=4)
def _revisions(static: str) -> tuple[tuple[str, str], ...]:
    """Each precached file with a hash of its bytes: the service worker (and so the phone) takes a changed file anew."""
    return tuple((name, hashlib.sha256((Path(static) / name).read_bytes()).hexdigest()[:16]) for name in PRECACHED)


@pages.get("/worker-sw.js")
def worker_service_worker() -> Response:
    """The worker page's service worker. Served from the root so its scope may be /worker (a script's scope is its folder
    or below); never cached by the browser's HTTP cache, so a new version reaches the phone on its next visit."""
    static = current_app.static_folder
    assert static is not None
    precache = [{"url": url_for("static", filename=name), "revision": rev} for name, rev in _revisions(static)]
    script = render_template("worker-sw.js", precache=precache, page=url_for("pages.worker"),
                             workbox=url_for("static", filename="vendor/workbox/"))
    response = Response(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/worker"
    return response
