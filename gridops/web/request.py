"""What a request needs of the app: its database and geocoder, and who is signing in.

Every route says who may call it with `require(permission)`; the permissions and
the roles that hold them are the one table in gridops.access.policy.
"""

from __future__ import annotations

from flask import current_app, g, request, session

from gridops.access.policy import Forbidden, Principal, Unauthorized, require_permission
from gridops.access.tokens import hash_token
from gridops.boundaries.geocoder import Geocoder
from gridops.core.db import Database
from gridops.core.errors import InvalidParameter

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PAGE_HEADER = "gridops"  # sent by gridops pages' scripts; other sites cannot send it without CORS


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
                raise InvalidParameter(name, f"`{name}` contains a NUL character (\\0), which no field may hold.")
    if request.is_json and b"\\u0000" in request.get_data(cache=True):
        raise InvalidParameter("body", "the JSON body contains a NUL character (\\u0000), which no field may hold.")


def principal(remembered_ok: bool = False) -> Principal | None:
    """The user behind this request: `Authorization: Bearer TOKEN`, Open311's `api_key`, or the page session.

    `remembered_ok`: a token this process already knows is taken without asking the
    database — only for use cases that confirm it again in their own transaction
    (report intake: see Principals).
    """
    if "principal" not in g:
        token = None
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
        elif request.values.get("api_key"):
            token = request.values.get("api_key")
        elif session.get("token"):
            token = session["token"]
            if request.method not in SAFE_METHODS and request.headers.get("X-Requested-With") != PAGE_HEADER:
                # a signed-in page's cookie alone never changes anything: another site could send it (CSRF)
                raise Forbidden(f"a change made with the page session must come from a gridops page "
                                f"(header X-Requested-With: {PAGE_HEADER}), or send Authorization: Bearer TOKEN.")
        if token:
            principals = current_app.extensions["gridops.principals"]
            known = principals.remembered(token) if remembered_ok else None
            if known is not None:
                g.principal = known[0]
            else:
                with database().session() as s:
                    g.principal = principals.principal(s, token)
            g.token_hash = hash_token(token)
            if g.principal is None:
                raise Unauthorized("the token is not valid (unknown, or the user was deactivated).")
        else:
            g.principal = None
    return g.principal


def require(permission: str | None = None, *, remembered_ok: bool = False) -> Principal:
    """The signed-in user, if their role holds `permission` (gridops.access.policy; any user when none is named)."""
    who = principal(remembered_ok)
    if who is None:
        raise Unauthorized("sign in: send `Authorization: Bearer TOKEN` (a token from `gridops users add`).")
    if permission is not None:
        require_permission(who, permission)
    return who


def token_hash() -> str | None:
    """The hash of the token this request signed in with (after `principal()`)."""
    return g.get("token_hash")
