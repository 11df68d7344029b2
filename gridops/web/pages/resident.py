"""The resident's pages (码上服务): the page a door's QR label opens, `/r/<door code>`, and the page a
resident follows their report on, `/follow/<token>`.

Made for a cheap phone on a bad signal, by someone who never signed in: a plain HTML form that posts
(no script is needed, none is sent), one small stylesheet, Chinese first. A submitted report goes
through the intake queue like every other (gridops.incidents.intake), then the browser is sent on to the
follow page (POST → 303 → GET, so a reload never reports twice); a second tap on the button sends the
same form key and gets the first report back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests
from werkzeug.wrappers import Response

from gridops.geo.errors import GeoError

from gridops.access import otp, sessions
from gridops.access.policy import OWN, Principal
from gridops.core.errors import Conflict, GridopsError, InvalidParameter, NotFound
from gridops.core.models import AppUser
from gridops.core.stamps import USERS_STAMP, read_stamp
from gridops.incidents import doors
from gridops.incidents.idempotency import check_key, fingerprint
from gridops.incidents.intake.submission import Submission
from gridops.incidents.photos import Photo, PhotoTooLarge, check_photos
from gridops.web import phone as by_phone
from gridops.web.context import use_case_context
from gridops.web.pages.base import PageAnswer, pages
from gridops.web.request import SESSION_KEY, database

ANONYMOUS = 0  # the "user" whose form keys these are: no user has id 0
MAX_PHOTOS = 3  # a resident's report: a few pictures are plenty on a phone's data plan


def _categories() -> list[dict[str, Any]]:
    with database().session() as session:
        return doors.public_categories(session)


def _message(problem: doors.FormProblem, **numbers: Any) -> str:
    """A form problem in the resident's language."""
    messages = {
        ("category", "unknown"): gettext("Choose what kind of problem it is."),
        ("description", "empty"): gettext("Say what happened."),
        ("description", "too_long"): gettext("Keep it to %(n)d characters.", n=doors.MAX_DESCRIPTION),
        ("contact", "not_phone"): gettext("That is not a phone number: digits only (a dash or a space is fine)."),
        ("photo", "too_large"): gettext("The photo is too large (at most %(mb)s MB): choose a smaller one, or send it without.",
                                        mb=numbers.get("mb", "")),
        ("photo", "not_image"): gettext("That file is not a photo (JPEG, PNG, WebP or HEIC)."),
        ("photo", "too_many"): gettext("At most %(n)d photos.", n=MAX_PHOTOS),
    }
    return messages.get((problem.field, problem.reason), problem.detail)


def _door_page(door: doors.Door, status: int = 200, *, values: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, problem: str | None = None,
               sign_in: dict[str, Any] | None = None) -> tuple[str, int]:
    me = _me()
    values = dict(values or {})
    if me is not None and me["phone"] and "contact" not in values:
        values["contact"] = me["phone"]
    return render_template("resident/door.html", door=door, categories=_categories(), values=values,
                           errors=errors or {}, problem=problem, form_key=secrets.token_urlsafe(16),
                           max_description=doors.MAX_DESCRIPTION, me=me, sign_in=sign_in or {}), status


def _signed_in() -> tuple[Principal, str, str] | None:
    """The user of this browser's page session (signed in by phone on this page, or otherwise), with their token's
    hash and the session id; none for a resident who never signed in (the page works for them as before)."""
    sid = session.get(SESSION_KEY)
    if not sid:
        return None
    with database().session() as s:
        key = sessions.token_hash_of(s, str(sid))
        who = current_app.extensions["gridops.principals"].by_hash(s, key, read_stamp(s, USERS_STAMP)) if key else None
    return (who, key, str(sid)) if who is not None and key else None


def _mark(sid: str) -> str:
    """What the report form carries of the page session it was shown in: a form another site made cannot know it,
    so a report is made as the signed-in resident only from their own page (the cookie is SameSite=Lax besides)."""
    return hmac.new(current_app.config["SECRET_KEY"].encode(), f"door-form:{sid}".encode(), hashlib.sha256).hexdigest()[:32]


def _me() -> dict[str, Any] | None:
    found = _signed_in()
    if found is None:
        return None
    who, _, sid = found
    with database().session() as s:
        user = s.get(AppUser, who.user_id)
        reports = doors.reports_of(s, who.user_id) if who.policy.sees == OWN else []
    phone = (user.phone if user else None) or ""
    return {"name": who.name, "resident": who.policy.sees == OWN, "phone": phone, "masked": by_phone.masked(phone),
            "reports": reports, "mark": _mark(sid)}


def _unknown(code: str, err: GridopsError) -> tuple[str, int]:
    gone = isinstance(err, doors.DoorGone)
    return render_template("resident/unknown.html", code=code, gone=gone), (410 if gone else 404)


@pages.get("/r/<path:code>")
def resident_door(code: str) -> PageAnswer:
    """The page a door's label opens: where you are, and a form to say what is wrong."""
    with database().session() as session:
        try:
            door = doors.find_door(session, code)
        except NotFound as err:
            return _unknown(code, err)
    return _door_page(door)


def _photos() -> tuple[tuple[Photo, ...], list[doors.FormProblem]]:
    """The photos sent (a file input left empty sends an empty part: not a photo), or what is wrong with them."""
    files = [(f.filename or "photo", f.read()) for f in request.files.getlist("photo") if f.filename]
    files = [(name, data) for name, data in files if data]
    if len(files) > MAX_PHOTOS:
        return (), [doors.FormProblem("photo", "too_many", f"at most {MAX_PHOTOS} photos.")]
    try:
        return tuple(check_photos(files, max_count=MAX_PHOTOS, max_bytes=current_app.config["MAX_PHOTO_BYTES"])), []
    except PhotoTooLarge as err:
        return (), [doors.FormProblem("photo", "too_large", err.message)]
    except GridopsError as err:
        return (), [doors.FormProblem("photo", "not_image", err.message)]


def _fingerprint(code: str, form: doors.ResidentReport) -> str:
    """The same form sent twice is the same request, whatever multipart boundary the browser chose each time."""
    canonical = json.dumps([code, form.category, form.description.strip(), form.contact or "",
                            [p.sha256 for p in form.photos]], ensure_ascii=False).encode()
    return fingerprint("POST", request.path, None, canonical)


@pages.post("/r/<path:code>")
def resident_report(code: str) -> PageAnswer | Response:
    """A resident's report from a door: checked, then through the intake (channel qr, placed at the building);
    the form again with what is wrong, in the resident's language, or on to the follow page."""
    with database().session() as session:
        try:
            door = doors.find_door(session, code)
        except NotFound as err:
            return _unknown(code, err)
    values = {k: (request.form.get(k) or "") for k in ("category", "description", "contact")}
    photos, problems = _photos()
    form = doors.ResidentReport(values["category"], values["description"], values["contact"].strip() or None, photos)
    with database().session() as session:
        problems = doors.check_report(session, form) + problems
    if problems:
        limit_mb = f"{current_app.config['MAX_PHOTO_BYTES'] / (1024 * 1024):g}"
        errors = {p.field: _message(p, mb=limit_mb) for p in problems}
        return _door_page(door, 400, values=values, errors=errors,
                          problem=gettext("Please correct what is marked below and send it again."))
    new = doors.new_report(door, form)
    key = (request.form.get("form_key") or "").strip() or None
    found = _signed_in()
    if found is not None and not hmac.compare_digest(request.form.get("signed") or "", _mark(found[2])):
        found = None  # a form not shown in this session: reported anonymously, as before sign-in
    who, token_hash = (found[0], found[1]) if found is not None else (None, None)
    sub = Submission(new, who, check_key(key, who.user_id if who else ANONYMOUS) if key else None,
                     _fingerprint(door.code, form), "POST", request.path, token_hash=token_hash)
    try:
        answer = current_app.extensions["gridops.intake"].submit(sub).result()
    except Conflict:  # the same form key with other words: a form sent, then changed and sent again
        return _door_page(door, 409, values=values,
                          problem=gettext("This form was already sent with other words. Check them and send it again."))
    except (GridopsError, GeoError):
        return _door_page(door, 422, values=values,
                          problem=gettext("This door cannot take reports at the moment. Please call your community office."))
    return redirect(url_for("pages.resident_follow", token=answer["token"], new=1), code=303)


@pages.post("/r/<path:code>/phone")
def resident_phone(code: str) -> PageAnswer | Response:
    """Signing in on the door's page, no script needed: the number (a code is sent by SMS), then the code (a page
    session starts, and the page comes back with the resident's reports and the form, which now reports as them)."""
    with database().session() as session_:
        try:
            door = doors.find_door(session_, code)
        except NotFound as err:
            return _unknown(code, err)
    action = request.form.get("action") or "send"
    raw = (request.form.get("phone") or "").strip()
    try:
        if action == "verify":
            by_phone.sign_in(raw, request.form.get("code"))
            return redirect(url_for("pages.resident_door", code=door.code), code=303)
        asked = by_phone.ask_code(raw)
    except GridopsError as err:
        step = "code" if action == "verify" and not _asks_again(err) else "phone"
        page, status = _door_page(door, _status(err), sign_in={"step": step, "phone": raw, "error": by_phone.explain(err)})
        return _with_retry(page, status, err)
    return _door_page(door, 200, sign_in={"step": "code", "phone": asked.phone, "sent_to": by_phone.masked(asked.phone)})


def _asks_again(err: GridopsError) -> bool:
    """A refusal after which only a new code helps (the form goes back to the number)."""
    return isinstance(err, otp.CodeRefused) and err.reason in ("none", "used", "expired", "dead")


def _status(err: GridopsError) -> int:
    if isinstance(err, otp.TooManyCodes):
        return 429
    if isinstance(err, otp.SignInRefused):
        return 403
    return 400


def _with_retry(page: str, status: int, err: GridopsError) -> PageAnswer | Response:
    if isinstance(err, otp.TooManyCodes):
        return Response(page, status, {"Retry-After": str(err.retry_after)}, mimetype="text/html")
    return page, status


@pages.get("/follow/<token>")
def resident_follow(token: str) -> PageAnswer | str:
    """A report's progress for the resident who made it (by the token they were given): its number, where it
    is in the loop, when it is due; nothing of who handles it or what the office wrote."""
    return _follow_page(token, done=request.args.get("done"))


def _follow_page(token: str, status: int = 200, *, done: str | None = None, problem: str | None = None,
                 values: dict[str, str] | None = None) -> tuple[str, int]:
    with database().session() as session:
        try:
            found = doors.follow(session, token, current_app.config["REOPEN_DAYS"])
        except NotFound:
            return render_template("resident/unknown.html", code="", gone=False, follow=True), 404
    return render_template("resident/follow.html", report=found, phases=doors.PHASE_ORDER, new=request.args.get("new") == "1",
                           link=_public(url_for("pages.resident_follow", token=token)), done=done, problem=problem,
                           values=values or {}), status


@pages.post("/follow/<token>")
def resident_follow_answer(token: str) -> PageAnswer | Response:
    """The reporter's say on their closed report, by the token of the follow page: a rating of 1–5 with a comment,
    or "not fixed" (reopened) within GRIDOPS_REOPEN_DAYS of the close. POST → 303 → GET, so a reload says it once."""
    action = (request.form.get("action") or "").strip()
    values = {k: (request.form.get(k) or "") for k in ("rating", "note")}
    raw = values["rating"].strip()
    rating = int(raw) if raw.isdigit() else None
    if action == "rate" and rating is None:
        return _follow_page(token, 400, problem=gettext("Choose how satisfied you are: 1 to 5 stars."), values=values)
    if action == "not_fixed" and not values["note"].strip():
        return _follow_page(token, 400, problem=gettext("Say what is still wrong."), values=values)
    try:
        with database().session() as session:
            status = doors.answer(session, use_case_context(), token, action, rating=rating, note=values["note"])
    except NotFound:
        return render_template("resident/unknown.html", code="", gone=False, follow=True), 404
    except InvalidParameter:
        return _follow_page(token, 400, problem=gettext("Choose how satisfied you are: 1 to 5 stars."), values=values)
    except GridopsError:  # closed too long ago, not closed yet, or already rated
        return _follow_page(token, 409, problem=gettext("This cannot be done on your report now. If the problem is back, "
                                                        "please report it again."))
    return redirect(url_for("pages.resident_follow", token=token, done="reopened" if status == "reopened" else "rated"), code=303)


def _public(path: str) -> str:
    """A path of this service as a resident can open it again later: at GRIDOPS_PUBLIC_URL when set (behind a
    proxy the request's own address may be an internal one), else where this request came in."""
    base = current_app.config["PUBLIC_URL"] or request.url_root
    return base.rstrip("/") + path


@pages.app_template_global()
def phase_label(phase: str) -> str:
    """A resident's phase of the loop, in the page's language."""
    names = {"received": gettext("Received"), "handling": gettext("Being handled"), "checking": gettext("Being checked"),
             "done": gettext("Done")}
    return names.get(phase, phase)


@pages.app_template_global()
def step_label(action: str) -> str:
    """A step of the loop as a resident reads it."""
    names = {"report": gettext("Reported"), "accept": gettext("Accepted by the grid office"), "dispatch": gettext("Sent to a worker"),
             "take": gettext("A worker took it on"), "check_in": gettext("A worker came to the place"),
             "resolve": gettext("Reported as dealt with"), "verify": gettext("Checked"), "close": gettext("Closed"),
             "escalate": gettext("Passed up to the next level"), "return": gettext("Sent back to be done again"),
             "not_fixed": gettext("Reopened: not fixed"), "rate": gettext("Rated"), "merge": gettext("Joined with the same report")}
    return names.get(action, action)


def too_many(err: TooManyRequests) -> tuple[str, int] | None:
    """Over the limit of reports from one address (gridops.web.limits): the form again, saying why."""
    if request.endpoint not in ("pages.resident_report", "pages.resident_phone"):
        return None
    code = (request.view_args or {}).get("code", "")
    with database().session() as session:
        try:
            door = doors.find_door(session, code)
        except NotFound as exc:
            return _unknown(code, exc)
    if request.endpoint == "pages.resident_phone":
        return _door_page(door, 429, sign_in={"step": "phone", "phone": request.form.get("phone") or "",
                                              "error": gettext("Too many tries from this phone's network just now. Wait a "
                                                               "minute and try again.")})
    return _door_page(door, 429, problem=gettext("Too many reports from this phone's network just now. Wait a few minutes and "
                                                 "send it again."))


@pages.errorhandler(RequestEntityTooLarge)
def too_large(err: RequestEntityTooLarge) -> PageAnswer | Response:
    """A body larger than the service takes (a camera's photo far beyond the limit): on the resident's page, the
    form again saying so; elsewhere the problem details every other error is."""
    from gridops.web.problems import describe, problem_response

    if request.endpoint == "pages.resident_report":
        code = (request.view_args or {}).get("code", "")
        with database().session() as session:
            try:
                door = doors.find_door(session, code)
            except NotFound as exc:
                return _unknown(code, exc)
        limit_mb = f"{current_app.config['MAX_PHOTO_BYTES'] / (1024 * 1024):g}"
        message = _message(doors.FormProblem("photo", "too_large", ""), mb=limit_mb)
        return _door_page(door, 413, errors={"photo": message}, problem=message)
    return problem_response(describe(err))
