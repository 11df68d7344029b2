"""Every route is guarded by its line in the one table (gridops.access.policy.ROUTES), before its
view runs: an app with a route the table does not name refuses to start. Views then take the caller
with `caller()`; what a caller sees of the data is their role's scope, decided by the use cases.
"""

from __future__ import annotations

from flask import Flask, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from gridops.access.policy import ANYONE, ROLES, ROUTES, Unauthorized, refuse_route
from gridops.core.words import Say
from gridops.web.problems import describe
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
        p = describe(refusal)
        names = "、".join(ROLES[r].name for r in access.roles())
        zh = f"此页面供{names}使用；您当前的角色是{who.policy.name}。"
        return render_template("problem.html", slug=p.slug, title="不是您的角色可用的页面 Not for your role",
                               description=p.detail, zh=zh, home=url_for("pages.index")), p.status
    return None


def install(app: Flask) -> None:
    check_declared(app)
    app.before_request_funcs.setdefault(None, []).insert(0, guard)  # first: before any body is read
