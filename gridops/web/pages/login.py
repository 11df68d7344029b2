"""Signing in on a page: the token from `gridops users add` (or the demo's), kept in the page session."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from gridops.web.pages.base import pages
from gridops.web.request import database


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //other.site or a full URL): no open redirect."""
    return target if target and target.startswith("/") and not target.startswith("//") else url_for("pages.worker")


@pages.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    """Sign in with the token from `gridops users add`; the page session then carries it."""
    error = None
    nxt = _safe_next(request.values.get("next"))
    if request.method == "POST":
        token = (request.form.get("token") or "").strip()
        who = None
        if token:
            with database().session() as s:
                who = current_app.extensions["gridops.principals"].principal(s, token)
        if who is None:
            error = "That token is not valid (unknown, or the user was deactivated). Ask your grid office for a new one."
        else:
            session.clear()
            session["token"] = token
            session.permanent = True
            return redirect(nxt)
    return render_template("login.html", error=error, next=nxt), (401 if error else 200)


@pages.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(url_for("pages.login"))
