"""Signing in: tokens are remembered per process, and forgotten the moment a user changes."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from gridops.cli import cli
from gridops.core.models import AppUser, UserArea
from tests.conftest import TEST_POINT


def test_a_revoked_token_stops_working_at_the_next_request(city, monkeypatch, english):
    tasks = city.client.get("/api/v1/me/tasks", headers=city.h("grid_worker"))
    assert tasks.status_code == 200  # the token is now remembered by this process
    monkeypatch.setenv("DATABASE_URL", city.app.config["DATABASE_URL"])
    done = CliRunner().invoke(cli, ["users", "revoke", "grid_worker"])
    assert done.exit_code == 0 and "revoked" in done.output
    again = city.client.get("/api/v1/me/tasks", headers=city.h("grid_worker"))
    assert again.status_code == 401 and "deactivated" in again.json["detail"]
    listed = CliRunner().invoke(cli, ["users", "list"]).output
    assert "\tgrid_worker\tgrid_worker\trevoked" in listed and "\tresident\tresident\tactive" in listed


def test_revoking_an_unknown_or_ambiguous_user_says_so(city, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", city.app.config["DATABASE_URL"])
    missing = CliRunner().invoke(cli, ["users", "revoke", "nobody"])
    assert missing.exit_code != 0 and "no active user 'nobody'" in missing.output


def test_a_changed_role_or_area_is_seen_at_the_next_request(city):
    report = city.client.post("/api/v1/incidents", json={"category": "dispute.neighbour", "lon": TEST_POINT[0], "lat": TEST_POINT[1]},
                              headers=city.h("resident")).json
    seen = city.client.get(f"/api/v1/incidents/{report['id']}", headers=city.h("stranger_worker"))
    assert seen.status_code == 404  # not the stranger's ground
    with city.session() as s:
        user = s.scalar(select(AppUser).where(AppUser.name == "stranger_worker"))
        s.add(UserArea(user_id=user.id, area_code=report["grid"]["code"]))
    assert city.client.get(f"/api/v1/incidents/{report['id']}", headers=city.h("stranger_worker")).status_code == 200
    assert city.client.get(f"/api/v1/incidents/{report['id']}", headers=city.h("other_resident")).status_code == 404
    with city.session() as s:
        s.scalar(select(AppUser).where(AppUser.name == "other_resident")).role = "command_centre"
    assert city.client.get(f"/api/v1/incidents/{report['id']}", headers=city.h("other_resident")).status_code == 200


def test_a_report_on_a_token_revoked_since_it_was_remembered_is_refused_and_not_stored(city, monkeypatch):
    from sqlalchemy import func

    from gridops.core.models import Incident

    body = {"category": "dispute.neighbour", "lon": TEST_POINT[0], "lat": TEST_POINT[1]}
    assert city.client.post("/api/v1/incidents", json=body, headers=city.h("resident")).status_code == 201
    with city.session() as s:
        before = s.scalar(select(func.count(Incident.id)))
    monkeypatch.setenv("DATABASE_URL", city.app.config["DATABASE_URL"])
    assert CliRunner().invoke(cli, ["users", "revoke", "resident"]).exit_code == 0
    again = city.client.post("/api/v1/incidents", json={**body, "category": "order.noise"}, headers=city.h("resident"))
    assert again.status_code == 401 and again.headers["WWW-Authenticate"].startswith("Bearer")
    with city.session() as s:
        assert s.scalar(select(func.count(Incident.id))) == before


def test_signing_in_is_rate_limited_per_address(city):
    """Ten wrong tokens a minute from one address, then the page says to wait (a token cannot be guessed)."""
    client = city.app.test_client()
    answers = [client.post("/login", data={"token": f"gro_guess-{k}"}).status_code for k in range(10)]
    assert answers == [401] * 10
    blocked = client.post("/login", data={"token": city.tokens["grid_worker"]})  # even the right one, for now
    assert blocked.status_code == 429 and "一分钟后再试" in blocked.get_data(as_text=True) and blocked.headers["Retry-After"]
    other = city.app.test_client().post("/login", data={"token": city.tokens["grid_worker"]},
                                        environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 302  # another address is not held back


def test_a_page_session_is_kept_on_the_server_and_ended_by_signing_out(city, english):
    from gridops.core.models import PageSession

    client = city.app.test_client()
    assert client.post("/login", data={"token": city.tokens["grid_worker"]}).status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None and city.tokens["grid_worker"] not in cookie.value  # only a session id rides the cookie
    assert client.get("/api/v1/me/tasks").status_code == 200
    copied = city.app.test_client()
    copied.set_cookie("session", cookie.value)
    assert copied.get("/api/v1/me/tasks").status_code == 200
    client.post("/logout")
    with city.session() as s:
        assert s.scalar(select(PageSession.ended_at).where(PageSession.user_id.is_not(None))) is not None
    refused = copied.get("/api/v1/me/tasks")  # the copied cookie died with the session
    assert refused.status_code == 401 and "sign in again" in refused.json["detail"]
    assert copied.get("/worker").status_code == 302  # a page sends them to sign in
