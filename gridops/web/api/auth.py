"""Signing in by phone over the API (a resident's mini-program, a worker's phone): a code by SMS, then the code
for a page session — the cookie the token login sets, sent with the header every gridops page sends."""

from __future__ import annotations

from typing import Any

from gridops.access import otp
from gridops.core.errors import GridopsError
from gridops.web import phone as by_phone
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.auth import PhoneCodeAsk, PhoneCodeSent, PhoneSignedIn, PhoneSignIn
from gridops.web.api.schemas.common import problem_response
from gridops.web.pages.login import home_of

bp = Blueprint("auth", __name__, description="Signing in with a code sent by SMS (手机验证码登录)")


@bp.post("/auth/phone/code")
@bp.arguments(PhoneCodeAsk, location="json", as_kwargs=True)
@bp.response(202, PhoneCodeSent)
@problem_response(bp, 400, "not a mobile number")
@problem_response(bp, 429, "too many codes asked for this number or from this address; Retry-After says when to ask again")
def phone_code(phone: str) -> dict[str, Any]:
    """Send a sign-in code by SMS. Any mobile number gets one, so the answer never says whether it has an account;
    a number gets one a minute, 5 an hour, 10 a day, and one address 20 an hour."""
    try:
        asked = by_phone.ask_code(phone)
    except GridopsError as err:
        raise by_phone.translated(err) from None
    return {"sent_to": by_phone.masked(asked.phone), "expires_in": int(otp.LIFETIME.total_seconds()),
            "next_in": int(otp.PER_NUMBER[0].span.total_seconds())}


@bp.post("/auth/phone/verify")
@bp.arguments(PhoneSignIn, location="json", as_kwargs=True)
@bp.response(200, PhoneSignedIn)
@problem_response(bp, 400, "the code is wrong (`tries_left` says how many more), expired, used or dead (`reason` says which)")
@problem_response(bp, 403, "the code was right, but this number may not sign in by phone (its sign-in was stopped)")
@problem_response(bp, 429, "too many tries from this address")
def phone_verify(phone: str, code: str) -> dict[str, Any]:
    """Sign in with the code: a worker's or staff user's number as that user, any other as its resident (made on the
    first sign-in). Answers with the page session cookie; a change made with it sends `X-Requested-With: gridops`."""
    try:
        who = by_phone.sign_in(phone, code)
    except GridopsError as err:
        raise by_phone.translated(err) from None
    return {"user": {"id": who.user_id, "name": who.name, "role": who.role}, "home": home_of(who.role)}
