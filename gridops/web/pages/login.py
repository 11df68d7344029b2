"""Signing in on a page: the token from `gridops users add` (or the demo's), kept in the page session."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, session, url_for
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from gridops.access import otp, sessions, shiftpass
from gridops.access.policy import PLAN, ROUTES, SEE_WORKERS, Principal, role
from gridops.core.errors import GridopsError
from gridops.web import phone as by_phone
from gridops.web.pages import resident
from gridops.web.pages.base import pages
from gridops.web.request import SESSION_KEY, database


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never //other.site, /\\other.site or a full URL): no open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


def _home(who: Principal) -> str:
    return home_of(who.role)


def home_of(role_code: str) -> str:
    """Where a user starts when no page sent them: their own work, the plans (a planner), or the maps."""
    r = role(role_code)
    if ROUTES["pages.worker"].admits(role_code):
        return url_for("pages.worker")
    if r.can(PLAN) and not r.can(SEE_WORKERS):
        return url_for("pages.plan_page")
    if ROUTES["pages.live_map_page"].admits(role_code):
        return url_for("pages.live_map_page")
    return url_for("pages.index")


@pages.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    """Sign in with the token from `gridops users add`: a page session starts, kept on the server; the
    cookie carries only its id."""
    error = None
    nxt = _safe_next(request.values.get("next"))
    if request.method == "POST":
        token = (request.form.get("token") or "").strip()
        who = None
        if token:
            with database().session() as s:
                who = current_app.extensions["gridops.principals"].principal(s, token)
                sid = sessions.start(s, who.user_id) if who is not None else None
        if who is None or sid is None:
            error = "That token is not valid (unknown, or the user was deactivated). Ask your grid office for a new one."
        else:
            session.clear()
            session[SESSION_KEY] = sid
            session.permanent = True
            return redirect(nxt or _home(who))
    return render_template("login.html", error=error, next=nxt or ""), (401 if error else 200)


@pages.route("/login/phone", methods=["GET", "POST"])
def login_phone() -> Response | tuple[str, int]:
    """Sign in with a code sent by SMS to the phone one's office has on file (a worker on a phone, no token to
    paste): the number, then the code; no script needed."""
    nxt = _safe_next(request.values.get("next")) or ""
    if request.method == "GET":
        return render_template("login_phone.html", step="phone", phone="", next=nxt), 200
    action = request.form.get("action") or "send"
    raw = (request.form.get("phone") or "").strip()
    try:
        if action == "verify":
            who = by_phone.sign_in(raw, request.form.get("code"))
            return redirect(nxt or home_of(who.role))
        asked = by_phone.ask_code(raw)
    except GridopsError as err:
        again = isinstance(err, otp.CodeRefused) and err.reason in ("none", "used", "expired", "dead")
        step = "code" if action == "verify" and not again else "phone"
        status = 429 if isinstance(err, otp.TooManyCodes) else 403 if isinstance(err, otp.SignInRefused) else 400
        answer = render_template("login_phone.html", step=step, phone=raw, next=nxt, error=by_phone.explain(err))
        if isinstance(err, otp.TooManyCodes):
            return Response(answer, status, {"Retry-After": str(err.retry_after)}, mimetype="text/html")
        return answer, status
    return render_template("login_phone.html", step="code", phone=asked.phone, sent_to=by_phone.masked(asked.phone), next=nxt), 200


@pages.route("/login/shift/<secret>", methods=["GET", "POST"])
def login_shift(secret: str) -> Response | tuple[str, int]:
    """The link of a QR code an admin showed (扫码登录): a button that signs this phone in for the shift. Opening the
    link only shows the button — a chat app's preview of the link must not use up the pass — and the press signs in."""
    if request.method == "GET":
        return render_template("login_shift.html", error=None), 200
    refused = None
    with database().session() as s:
        try:
            sid, who = shiftpass.claim(s, secret)
        except shiftpass.PassRefused as err:
            refused = err
    if refused is not None:
        return render_template("login_shift.html", error=refused.reason), 401  # as a token that does not sign in
    session.clear()
    session[SESSION_KEY] = sid
    session.permanent = True
    return redirect(home_of(who))


@pages.errorhandler(TooManyRequests)
def too_many(err: TooManyRequests) -> tuple[str, int, dict[str, str]]:
    """Over a page's limit (gridops.web.limits): the page again, saying why — a person reads it (the sign-in form,
    or a resident's report form)."""
    retry = {"Retry-After": str(err.retry_after or 60)}
    resident_page = resident.too_many(err)
    if resident_page is not None:
        return *resident_page, retry
    error = "尝试次数过多，请一分钟后再试。Too many attempts from this address: wait a minute and try again."
    if request.endpoint == "pages.login_phone":
        return render_template("login_phone.html", step="phone", phone=request.form.get("phone") or "", error=error,
                               next=_safe_next(request.values.get("next")) or ""), 429, retry
    return render_template("login.html", error=error, next=_safe_next(request.values.get("next")) or ""), 429, retry


@pages.post("/logout")
def logout() -> Response:
    """Ends the session on the server too: the same cookie, copied or replayed, no longer signs in."""
    sid = session.get(SESSION_KEY)
    if sid:
        with database().session() as s:
            sessions.end(s, sid)
    session.clear()
    return redirect(_safe_next(request.values.get("next")) or url_for("pages.login"))
