"""What a request needs of the app: its database and geocoder, and who is signing in.

Who may call each route is its line in gridops.access.policy.ROUTES, checked by
gridops.web.guard before the view runs; a view takes the signed-in user with `caller()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from flask import current_app, g, request, session
from sqlalchemy.orm import Session

from gridops.access import sessions
from gridops.access.cache import Credential, Principals
from gridops.access.policy import Forbidden, Principal, Unauthorized
from gridops.access.tokens import hash_token
from gridops.boundaries.geocoder import Geocoder
from gridops.core.db import Database
from gridops.core.errors import InvalidParameter
from gridops.core.stamps import USERS_STAMP, read_stamp
from gridops.core.words import Say

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
OPEN311 = "open311"  # the blueprint whose clients send `api_key`, as GeoReport v2 has them do
PAGE_HEADER = "gridops"  # sent by gridops pages' scripts; other sites cannot send it without CORS
SESSION_KEY = "sid"  # the page session's id in the signed cookie (gridops.access.sessions)


def database() -> Database:
    db: Database = current_app.extensions["gridops.db"]
    return db


def geocoder() -> Geocoder:
    found: Geocoder = current_app.extensions["gridops.geocoder"]
    return found


def refuse_nul_characters() -> None:
    """No field may hold a NUL character (\\0): PostgreSQL's text cannot store one, and no name, code or
    note needs it. Refused up front, naming the field, instead of failing deep in a query."""
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            if "\x00" in value or "\x00" in name:
                raise InvalidParameter(name, Say('`%(name)s` contains a NUL character (\\0), which no field may hold.', name=name))
    for name, value in (request.view_args or {}).items():  # a path segment (/areas/<code>, tokens/<token_id>)
        if isinstance(value, str) and "\x00" in value:
            raise InvalidParameter(name, Say('`%(name)s` contains a NUL character (\\0), which no field may hold.', name=name))
    if request.is_json and b"\\u0000" in request.get_data(cache=True):
        raise InvalidParameter("body", Say("the JSON body contains a NUL character (\\u0000), which no field may hold."))


MAX_JSON_DEPTH = 100  # a GeoJSON MultiPolygon in a FeatureCollection is 7 deep
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# a \uD800-\uDFFF escape that is not half of a pair (after an even run of backslashes: an escape, not text)
_LONE_SURROGATE = re.compile(rb"(?<!\\)(?:\\\\)*(?:\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             rb"|\\u[dD][c-fC-F][0-9a-fA-F]{2})")
_PAIR = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def refuse_malformed_json() -> None:
    """A JSON body no parser should be handed is refused up front, as a 400 naming the body: one nested deeper
    than any document the API takes (Python's json raises RecursionError past ~1,000 levels), or one with a
    lone surrogate escape (\\ud800: valid JSON, but no UTF-8 text, so it fails where it is stored or sent back)."""
    if not request.is_json:
        return
    body = request.get_data(cache=True)
    if b"\\u" in body and _LONE_SURROGATE.search(_PAIR.sub(b"", body)):
        raise InvalidParameter("body", Say("the JSON body holds half of a surrogate pair (\\ud800-\\udfff alone), which is no "
                                       "character; send the text as UTF-8."))
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:  # too few brackets to nest that deep
        return
    brackets = np.frombuffer(_JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS), dtype=np.uint8)
    depth = np.cumsum(np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1))
    if depth.size and int(depth.max()) > MAX_JSON_DEPTH:
        raise InvalidParameter("body", Say("the JSON body is nested more than %(max_json_depth)s levels deep; no document "
                                           "the API takes is.",
                                           max_json_depth=MAX_JSON_DEPTH))


def principal(remembered_ok: bool = False) -> Principal | None:
    """The user behind this request: `Authorization: Bearer TOKEN`, Open311's `api_key` (on Open311's
    routes only), or the page session (gridops.access.sessions).

    `remembered_ok`: a token this process already knows is taken without asking the
    database — only for use cases that confirm it again in their own transaction
    (report intake: see Principals).
    """
    if "principal" not in g:
        token, sid = None, None
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
        elif request.blueprint == OPEN311 and request.values.get("api_key"):
            token = request.values.get("api_key")  # the spec's way; nowhere else, since URLs land in logs
        elif session.get(SESSION_KEY):
            sid = str(session[SESSION_KEY])
            if request.method not in SAFE_METHODS and request.headers.get("X-Requested-With") != PAGE_HEADER:
                # a signed-in page's cookie alone never changes anything: another site could send it (CSRF)
                raise Forbidden(Say("a change made with the page session must come from a gridops page (header "
                                    "X-Requested-With: %(page_header)s), or send Authorization: Bearer TOKEN.",
                                    page_header=PAGE_HEADER))
        principals: Principals = current_app.extensions["gridops.principals"]
        g.principal = None
        if token:
            known = principals.remembered(token) if remembered_ok else None
            if known is not None:
                g.principal = known[0]
            else:
                with database().session() as s:
                    g.principal = principals.principal(s, token)
            g.token_hash = hash_token(token)
            if g.principal is None:
                raise Unauthorized(Say("the token is not valid (unknown, or the user was deactivated)."))
        elif sid:
            g.sid = sid
            with database().session() as s:
                key = sessions.token_hash_of(s, sid)
                g.principal = principals.by_hash(s, key, read_stamp(s, USERS_STAMP)) if key else None
            g.token_hash = key
            if g.principal is None:
                raise Unauthorized(Say("the page session has ended (signed out, expired, or the user was deactivated): sign in again."))
    return g.principal


def caller() -> Principal:
    """The signed-in user of a route that needs one (the guard has admitted them already)."""
    who = principal()
    if who is None:  # only a route declared ANYONE gets here without a user
        raise Unauthorized(Say("sign in: send `Authorization: Bearer TOKEN` (a token from `gridops users add`)."))
    return who


def token_hash() -> str | None:
    """The hash of the token this request signed in with (after `principal()`)."""
    return g.get("token_hash")


def credential() -> Credential:
    """How this request signed in, kept by a long answer (the live feed) to ask again later whether
    its caller still may: the page session, or the token's hash."""
    sid: str | None = g.get("sid")
    return Credential(sid=sid) if sid else Credential(token_hash=g.get("token_hash"))


def confirmer() -> Callable[[Session], Principal | None]:
    """`credential()` resolved afresh on demand (None once revoked or signed out)."""
    principals: Principals = current_app.extensions["gridops.principals"]
    held = credential()
    return lambda s: principals.recheck(s, [held])[0]
