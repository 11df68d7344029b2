"""Signing in by phone, as the API and the pages share it: the number checked, counted across processes (Redis,
when configured), the code asked or tried (gridops.access.otp), a page session started, and each refusal said
in the person's language."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, session
from flask_babel import gettext

from gridops.access import otp, sessions
from gridops.access.masking import mask_phone
from gridops.core import clock
from gridops.core.errors import GridopsError, InvalidParameter
from gridops.core.words import Say
from gridops.web.i18n import say
from gridops.web.limits import Limits
from gridops.web.request import SESSION_KEY, database

# per number across every process and machine, when GRIDOPS_REDIS_URL is set (the table counts in any case)
PER_NUMBER = ";".join(f"{w.most}/{int(w.span.total_seconds())} seconds" for w in otp.PER_NUMBER)


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    name: str
    role: str
    phone: str


def ask_code(raw_phone: str | None) -> otp.Asked:
    """Send a code to a number (any valid mobile number: the answer is the same whether it has an account)."""
    phone = otp.normalise_phone(raw_phone)
    limits: Limits = current_app.extensions["gridops.limits"]
    if current_app.config["REDIS_URL"]:
        wait = limits.take(PER_NUMBER, "otp-phone", phone)
        if wait is not None:
            raise otp.TooManyCodes(f"this number asked for too many codes: try again in {wait} s.", wait, "phone")
    with database().session() as s:
        return otp.request_code(s, phone, request.remote_addr, clock.now(), secret=current_app.config["SECRET_KEY"])


def sign_in(raw_phone: str | None, code: str | None) -> SignedIn:
    """The person a right code names, signed in on this browser (a page session, as the token login starts)."""
    refused: otp.CodeRefused | None = None
    with database().session() as s:
        try:
            user = otp.verify_code(s, raw_phone or "", code or "", clock.now(), secret=current_app.config["SECRET_KEY"])
        except otp.CodeRefused as err:
            refused = err  # the wrong try is committed with the block, then said
        else:
            sid = sessions.start(s, user.id)
            who = SignedIn(user.id, user.name, user.role, user.phone or "")
    if refused is not None:
        raise refused
    session.clear()
    session[SESSION_KEY] = sid
    session.permanent = True
    return who


def explain(err: GridopsError) -> str:
    """A refusal of this flow in the person's language (the English message stays in the log and the CLI)."""
    if isinstance(err, otp.TooManyCodes):
        if err.per == "phone":
            return gettext("Too many codes were asked for this number. Try again in %(s)d seconds.", s=err.retry_after)
        return gettext("Too many codes were asked from this network. Try again in %(s)d seconds.", s=err.retry_after)
    if isinstance(err, otp.CodeRefused):
        minutes = int(otp.LIFETIME.total_seconds() // 60)
        texts = {
            "malformed": gettext("The code is the %(n)d digits in the SMS.", n=otp.CODE_DIGITS),
            "none": gettext("No code was sent to this number yet: ask for one first."),
            "used": gettext("That code was used already: ask for a new one."),
            "expired": gettext("That code has expired (a code lasts %(m)d minutes): ask for a new one.", m=minutes),
            "dead": gettext("That code was entered wrongly too many times and no longer works: ask for a new one."),
            "wrong": _tries(err.tries_left or 0),
        }
        return texts.get(err.reason, err.message)
    if isinstance(err, otp.SignInRefused):
        if err.reason == "stopped":
            return gettext("Sign-in for this number was stopped. Please call your community office.")
        return gettext("Your role signs in with the token your grid office gives you, not with a phone code.")
    if isinstance(err, InvalidParameter) and err.details.get("reason") == "not_mobile":
        return gettext("That is not a mobile number: 11 digits starting with 1 (e.g. 139 0000 1111).")
    return say(err.public_said)


def _tries(left: int) -> str:
    """Two sentences rather than ngettext: Chinese has one form, and the catalogue stays simple."""
    if left == 1:
        return gettext("That code is wrong. One more try, then it stops working.")
    return gettext("That code is wrong. %(n)d more tries, then it stops working.", n=left)


def translated(err: GridopsError) -> GridopsError:
    """The same refusal, its message in the person's language (for the API's problem details)."""
    err.message = explain(err)
    err.said = Say(err.message)
    return err


def masked(phone: str) -> str:
    return mask_phone(phone) or ""
