"""Every route is guarded by its line in the one table (gridops.access.policy.ROUTES), before its
view runs: an app with a route the table does not name refuses to start. Views then take the caller
with `caller()`; what a caller sees of the data is their role's scope, decided by the use cases.
"""

from __future__ import annotations

from flask import Flask, redirect, request, session, url_for
from werkzeug.wrappers import Response

from gridops.access.policy import ANYONE, ROUTES, Unauthorized, refuse_route, role_term, role_terms
from gridops.core.words import Say
from gridops.web.i18n import say
from gridops.web.problems import Problem, describe, page_response
from gridops.web.request import OPEN311, principal

PAGES = "pages"


def undeclared(app: Flask) -> list[str]:
    """The app's endpoints that the policy table does not name."""
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()} - set(ROUTES))


def check_declared(app: Flask) -> None:
    missing = undeclared(app)
    if missing:
        raise RuntimeError(f"routes without a line in gridops.access.policy.ROUTES: {', '.join(missing)}")


def guard() -> Response | tuple[str, int] | None:
    """Refuse a caller the route's declaration does not admit: a page sends them to sign in (or says the
    page is not for their role); the API answers 401 or 403 as problem details."""
    if request.endpoint is None:  # no such route: routing answers 404 or 405
        return None
    access = ROUTES[request.endpoint]
    if access.who == ANYONE:
        return None
    page = request.blueprint == PAGES
    try:
        who = principal(access.confirmed_later)
    except Unauthorized:
        if not page:
            raise
        session.clear()  # a page session whose user was deactivated
        who = None
    if who is None:
        if page:
            return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
        if request.blueprint == OPEN311:
            raise Unauthorized(Say("api_key is missing or invalid: send a gridops user token as api_key."))
        raise Unauthorized(Say("sign in: send `Authorization: Bearer TOKEN` (a token from `gridops users add`)."))
    if not access.admits(who.role):
        refusal = refuse_route(who, access)
        if not page:
            raise refusal
        said = Say("This page is for %(roles)s; you are signed in as %(role)s.", roles=role_terms(access.roles()),
                   role=role_term(who.role))
        p = describe(refusal)
        return page_response(Problem(p.status, p.slug, say(said), p.extra))
    return None


def install(app: Flask) -> None:
    check_declared(app)
    app.before_request_funcs.setdefault(None, []).insert(0, guard)  # first: before any body is read
