"""Signing in by phone (手机验证码登录): a six-digit code sent by SMS gives whoever holds the phone a session, so a
resident can report from the QR label on their door, and a worker sign in on their phone, with no token issued.

Only an HMAC of a code is kept (keyed with the app's secret, so a copy of the database alone guesses nothing); a
code lives five minutes and dies after five wrong tries. Asking is limited per number and per client address,
counted from this table — the record on every backend, taken under a lock so two processes cannot both slip
under a limit (the web adapter adds Redis counters across machines when configured). A code goes out as an
urgent `sign_in_code` message in the same transaction, so the dispatcher sends it by SMS even in quiet hours.

Whoever holds the phone is the person: a worker's or a staff user's number signs in as that user (never as a
resident shadowing them), any other number as the resident of that number, made on first sign-in. No answer
before the code is right tells whether a number has an account.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from gridops.access.masking import mask_phone
from gridops.access.policy import Forbidden
from gridops.access.users import add_user, sync_user_areas
from gridops.core.errors import GridopsError, InvalidParameter
from gridops.core.models import AppUser, Delivery, Notification, OneTimeCode, Worker
from gridops.core.words import Say
from gridops.messages.outbox import enqueue

CODE_DIGITS = 6
LIFETIME = timedelta(minutes=5)
MAX_TRIES = 5
KIND = "sign_in_code"
_MOBILE = re.compile(r"1[3-9]\d{9}")
_SEPARATORS = re.compile(r"[\s\-().]")


@dataclass(frozen=True)
class Window:
    span: timedelta
    most: int


# per number: one a minute, five an hour, ten a day; per client address (a phone network puts many behind one)
PER_NUMBER = (Window(timedelta(seconds=60), 1), Window(timedelta(hours=1), 5), Window(timedelta(days=1), 10))
PER_ADDRESS = (Window(timedelta(hours=1), 20),)

# a worker's role in the people register → the sign-in role a phone code makes for them (the others' sign-ins
# carry powers an office grants by hand: `gridops users add`)
WORKER_ROLES = {"grid_worker": "grid_worker", "grid_leader": "grid_leader", "department_staff": "department"}


class TooManyCodes(GridopsError):
    """Asked too often: `retry_after` seconds until the next code may be asked; `per` says what was counted."""

    slug = "too-many-requests"

    def __init__(self, message: str, retry_after: int, per: str) -> None:
        super().__init__(message, per=per, retry_after=retry_after)
        self.retry_after = retry_after
        self.per = per


class CodeRefused(GridopsError):
    """A code that does not sign in, and why: `reason` is none (no live code for the number), expired, wrong
    (`tries_left` more), dead (too many wrong tries) or used."""

    slug = "invalid-parameter"

    def __init__(self, reason: str, message: str, tries_left: int | None = None) -> None:
        super().__init__(message, field="code", reason=reason, tries_left=tries_left)
        self.reason = reason
        self.tries_left = tries_left


class SignInRefused(Forbidden):
    """The code was right, but this number may not sign in this way (its sign-in was stopped, or the worker's
    role is one an office grants by hand)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


def normalise_phone(raw: str | None) -> str:
    """A Chinese mobile number as its 11 digits ("+86 139-0000-1111" → "13900001111"), or a refusal saying what
    a mobile number looks like (a landline cannot take an SMS)."""
    digits = _SEPARATORS.sub("", str(raw or ""))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if not _MOBILE.fullmatch(digits):
        raise InvalidParameter("phone", Say("a mobile number is 11 digits starting 13-19 (+86 may come before it), e.g. "
                                            "13900001111; %(value)r is not one.",
                                            value=str(raw or '')[:32]), reason="not_mobile")
    return digits


def code_hash(secret: str, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Asked:
    phone: str
    expires_at: datetime
    notification_id: int


def request_code(session: Session, phone: str, address: str | None, now: datetime, *, secret: str) -> Asked:
    """Make a code for a number and queue it by SMS, unless the number or the address asked too often.

    Any valid mobile number gets a code, account or not, so the answer says nothing of who has one. A new
    code ends the number's earlier ones: only the last SMS counts."""
    phone = normalise_phone(phone)
    address = (address or "")[:64] or None
    _lock(session, phone)
    _check_limits(session, phone, address, now)
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    session.execute(update(OneTimeCode).where(OneTimeCode.phone == phone, OneTimeCode.used_at.is_(None),
                                              OneTimeCode.expires_at > now).values(expires_at=now))
    _forget(session, phone)
    row = OneTimeCode(phone=phone, code_hash=code_hash(secret, phone, code), address=address, created_at=now,
                      expires_at=now + LIFETIME, attempts=0)
    session.add(row)
    note = enqueue(session, KIND, at=now, phone=phone, urgent=True,
                   data={"code": code, "minutes": int(LIFETIME.total_seconds() // 60)})
    session.flush()
    assert note is not None  # a phone is given
    return Asked(phone, row.expires_at, note.id)


def verify_code(session: Session, phone: str, code: str, now: datetime, *, secret: str) -> AppUser:
    """The user a right code signs in: the number's worker or staff user, else its resident (made now if new).

    A wrong try is counted in `session` before CodeRefused is raised: the caller commits it even then (else
    a guesser would have endless tries)."""
    phone = normalise_phone(phone)
    code = re.sub(r"\s", "", str(code or ""))
    if not re.fullmatch(rf"\d{{{CODE_DIGITS}}}", code):
        raise CodeRefused("malformed", f"a code is the {CODE_DIGITS} digits of the SMS; {code[:12]!r} is not.")
    _lock(session, phone)
    row = session.scalar(select(OneTimeCode).where(OneTimeCode.phone == phone)
                         .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc()).limit(1))
    if row is None:
        raise CodeRefused("none", "no code was sent to this number: ask for one.")
    if row.used_at is not None:
        raise CodeRefused("used", "this number's last code was used already: ask for a new one.")
    if row.attempts >= MAX_TRIES:
        raise CodeRefused("dead", f"the code was tried wrongly {MAX_TRIES} times and no longer works: ask for a new one.")
    if row.expires_at <= now:
        raise CodeRefused("expired", f"the code has expired (a code lasts {int(LIFETIME.total_seconds() // 60)} minutes): "
                                     "ask for a new one.")
    if not hmac.compare_digest(row.code_hash, code_hash(secret, phone, code)):
        row.attempts += 1
        left = MAX_TRIES - row.attempts
        if left <= 0:
            _forget(session, phone)
            raise CodeRefused("dead", f"that code is wrong, and it was tried wrongly {MAX_TRIES} times: it no longer "
                                      "works; ask for a new one.", tries_left=0)
        raise CodeRefused("wrong", f"that code is wrong: {left} more {'try' if left == 1 else 'tries'} before it stops "
                                   "working.", tries_left=left)
    row.used_at = now
    _forget(session, phone)
    user = _person(session, phone, now)
    user.last_seen_at = now
    session.flush()
    return user


def _person(session: Session, phone: str, now: datetime) -> AppUser:
    """The number's own user: staff first (a worker's linked user, a staff user with that phone), then a
    resident's; a worker with no sign-in yet is given one of their role."""
    users = [u for u in session.scalars(select(AppUser).where(AppUser.phone.like(f"%{phone[-4:]}")))
             if _same(u.phone, phone)]
    workers = [w for w in session.scalars(select(Worker).where(Worker.phone.like(f"%{phone[-4:]}"), Worker.active.is_(True)))
               if _same(w.phone, phone)]
    if workers:
        users += [u for u in session.scalars(select(AppUser).where(AppUser.worker_id.in_([w.id for w in workers])))
                  if u.id not in {x.id for x in users}]
    staff = [u for u in users if u.role != "resident"]
    if staff:
        live = [u for u in staff if u.active]
        if not live:
            raise SignInRefused("stopped", "this number's sign-in was stopped: ask your grid office.")
        return max(live, key=lambda u: u.id)  # the latest made of its users (an office's re-issue)
    if workers:
        worker = max(workers, key=lambda w: w.id)
        role = WORKER_ROLES.get(worker.role)
        if role is None:
            raise SignInRefused("not_by_phone", f"a {worker.role} signs in with the token their office gives "
                                                "(`gridops users add`), not by phone.")
        user, _ = add_user(session, worker.name, role, worker_code=worker.code, department=worker.department_code,
                           phone=phone)
        sync_user_areas(session, [worker.id], now)
        return user
    residents = [u for u in users if u.role == "resident"]
    if residents:
        live = [u for u in residents if u.active]
        if not live:
            raise SignInRefused("stopped", "this number's sign-in was stopped: call your community office.")
        return min(live, key=lambda u: u.id)
    user, _ = add_user(session, f"居民 {mask_phone(phone)}", "resident", phone=phone)
    return user


def _same(stored: str | None, phone: str) -> bool:
    try:
        return normalise_phone(stored) == phone
    except InvalidParameter:
        return False


def _lock(session: Session, phone: str) -> None:
    """One transaction at a time per number: on PostGIS an advisory lock on it, on SQLite the database's write
    lock, taken by a first write (so the counts read next cannot be stale when this one writes)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"gridops-otp-{phone}"})
    else:
        session.execute(update(OneTimeCode).where(OneTimeCode.id == -1).values(attempts=0))


def _check_limits(session: Session, phone: str, address: str | None, now: datetime) -> None:
    for per, windows, column, value in (("phone", PER_NUMBER, OneTimeCode.phone, phone),
                                        ("address", PER_ADDRESS, OneTimeCode.address, address)):
        if value is None:
            continue
        for w in windows:
            since = now - w.span
            count, oldest = session.execute(select(func.count(OneTimeCode.id), func.min(OneTimeCode.created_at))
                                            .where(column == value, OneTimeCode.created_at > since)).one()
            if count >= w.most:
                retry = max(1, math.ceil((oldest + w.span - now).total_seconds()))
                whom = "this number" if per == "phone" else "this address"
                raise TooManyCodes(f"{whom} asked for {count} codes in {_span(w.span)} (at most {w.most}): try again in "
                                   f"{retry} s.", retry, per)


def _span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return {60: "a minute", 3600: "an hour", 86400: "a day"}.get(seconds, f"{seconds} s")


FORGOTTEN = "验证码已失效 (a sign-in code, no longer valid)"


def forget_spent(session: Session, now: datetime) -> list[str]:
    """The words of codes that died unused (expired, nobody asked again) are blanked like a replaced code's:
    a sweep does it, so no working-looking code sits in the outbox and delivery log for longer than it lives.
    Each number is taken under its lock and looked at again, so a code asked for meanwhile is left alone."""
    live = select(OneTimeCode.phone).where(OneTimeCode.used_at.is_(None), OneTimeCode.expires_at > now)
    phones = list(session.scalars(select(Notification.phone).distinct().where(
        Notification.kind == KIND, Notification.message != FORGOTTEN, Notification.phone.is_not(None),
        Notification.phone.not_in(live))))
    forgotten = []
    for phone in phones:
        assert phone is not None  # filtered above
        _lock(session, phone)
        if session.scalar(live.where(OneTimeCode.phone == phone).limit(1)) is None:
            _forget(session, phone)
            forgotten.append(phone)
    return forgotten


def _forget(session: Session, phone: str) -> None:
    """A number's earlier codes no longer work, so their words need not be kept: the text of their messages
    that have gone out (or are yet to fan out) is blanked. A copy still queued keeps its own text until sent."""
    blank = {"code": "", "minutes": int(LIFETIME.total_seconds() // 60)}
    words = FORGOTTEN
    notes = select(Notification.id).where(Notification.kind == KIND, Notification.phone == phone)
    session.execute(update(Notification).where(Notification.id.in_(notes.scalar_subquery())).values(data=blank, message=words))
    session.execute(update(Delivery).where(Delivery.notification_id.in_(notes.scalar_subquery()), Delivery.status != "queued")
                    .values(body=words))
