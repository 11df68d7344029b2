"""Request helpers shared by the blueprints: the database and parameter parsing.

Every parser raises InvalidParameter naming the parameter, so a bad query string
becomes a 400 problem that says which value was wrong and what would be right.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from flask import current_app, g, request, session

from gridops.access.users import Forbidden, Principal, Unauthorized, hash_token
from gridops.core.db import Database
from gridops.core.errors import InvalidParameter
from gridops.boundaries.geocoder import Geocoder


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PAGE_HEADER = "gridops"  # sent by gridops pages' scripts; other sites cannot send it without CORS


def database() -> Database:
    return current_app.extensions["gridops.db"]


def geocoder() -> Geocoder:
    return current_app.extensions["gridops.geocoder"]


def float_arg(name: str, *, required: bool = False) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        if required:
            raise InvalidParameter(name, f"`{name}` is required.")
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidParameter(name, f"`{name}` must be a number, got {raw!r}.") from None


def int_arg(name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(name, f"`{name}` must be a whole number, got {raw!r}.") from None
    if not minimum <= value <= maximum:
        raise InvalidParameter(name, f"`{name}` must be between {minimum} and {maximum}, got {value}.")
    return value


def choice_arg(name: str, allowed: Iterable[str], default: str | None = None) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    options = sorted(allowed)
    if raw not in options:
        raise InvalidParameter(name, f"`{name}` must be one of {', '.join(options)}; got {raw!r}.", allowed=options)
    return raw


def time_arg(name: str) -> datetime | None:
    """An ISO-8601 time; a time without a zone is read in the city's time zone."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(name, f"`{name}` must be an ISO-8601 time like 2026-11-23T09:30:00+08:00; got {raw!r}.") from None
    if value.tzinfo is None:
        from zoneinfo import ZoneInfo

        value = value.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
    return value.astimezone(UTC)


def bbox_arg(name: str = "bbox") -> tuple[float, float, float, float] | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise InvalidParameter(name, f"`{name}` must be four numbers minlon,minlat,maxlon,maxlat; got {raw!r}.") from None
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidParameter(
            name, f"`{name}` must be minlon,minlat,maxlon,maxlat with min ≤ max, lon in [-180, 180], lat in [-90, 90]; got {raw!r}."
        )
    return minx, miny, maxx, maxy


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


def require(*roles: str, remembered_ok: bool = False) -> Principal:
    """The signed-in user, if their role is one of `roles` (any role when none are named)."""
    who = principal(remembered_ok)
    if who is None:
        raise Unauthorized("sign in: send `Authorization: Bearer TOKEN` (a token from `gridops users add`).")
    if roles and who.role not in roles:
        raise Forbidden(f"a {who.role} may not do this; it needs one of: {', '.join(roles)}.")
    return who


def token_hash() -> str | None:
    """The hash of the token this request signed in with (after `principal()`)."""
    return g.get("token_hash")
