"""Every route is declared in the one policy table, and every role gets what the table says.

The role × route matrix is generated from the declarations (gridops.access.policy.ROUTES) and
checked by real HTTP requests on both backends: each cell allowed or refused as declared. A request
a role is allowed is shaped so that it changes nothing (a missing field, an id that does not exist):
the guard answers before the view, and the view then refuses the request on its merits.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased

from gridops.access.policy import ANYONE, ROLE_CODES, ROUTES, can_see
from gridops.core.models import Area, Incident
from gridops.incidents.loop import OPEN
from gridops.web.guard import undeclared
from tests.conftest import TEST_GRID, make_app

# the demo user who stands for each role (tests.conftest.city)
USER_OF = {"resident": "resident", "grid_worker": "grid_worker", "grid_leader": "grid_leader",
           "community_admin": "community_admin", "department": "fire", "command_centre": "command_centre",
           "planner": "planner", "admin": "admin"}
assert set(USER_OF) == set(ROLE_CODES)

NO_INCIDENT = 999_999_999
# endpoint -> (method, path, keyword arguments of the test client's request)
SAMPLES: dict[str, tuple[str, str, dict]] = {
    "pages.index": ("GET", "/", {}),
    "pages.login": ("GET", "/login", {}),
    "pages.logout": ("POST", "/logout", {}),
    "pages.login_phone": ("POST", "/login/phone", {"data": {"phone": "not-a-number", "action": "send"}}),
    "pages.login_shift": ("POST", "/login/shift/not-a-pass", {}),
    "auth.phone_code": ("POST", "/api/v1/auth/phone/code", {"json": {"phone": "not-a-number"}}),
    "basemap.tile": ("GET", "/api/v1/basemap/15/26000/13600.geojson", {}),
    "tiles.archive_tile": ("GET", "/tiles/15/26000/13600", {}),
    "tiles.archive_file": ("GET", "/tiles/archive.pmtiles", {}),
    "auth.phone_verify": ("POST", "/api/v1/auth/phone/verify", {"json": {"phone": "not-a-number", "code": "1"}}),
    "pages.problem_type": ("GET", "/problems/forbidden", {}),
    "pages.worker": ("GET", "/worker", {}),
    "pages.worker_manifest": ("GET", "/worker/manifest.webmanifest", {}),
    "pages.worker_service_worker": ("GET", "/worker-sw.js", {}),
    "pages.live_map_page": ("GET", "/map", {}),
    "pages.risk_page": ("GET", "/maps/risk", {}),
    "pages.dashboard": ("GET", "/dashboard", {}),
    "pages.screen": ("GET", "/screen", {}),
    "pages.plan_page": ("GET", "/plan", {}),
    "pages.admin_home": ("GET", "/admin", {}),
    "pages.admin_people": ("GET", "/admin/people", {}),
    "pages.admin_person": ("GET", "/admin/people/NO-SUCH", {}),
    "pages.admin_calendar": ("GET", "/admin/calendar", {}),
    "pages.admin_categories": ("GET", "/admin/categories", {}),
    "pages.admin_buildings": ("GET", "/admin/buildings", {}),
    "pages.admin_building": ("GET", "/admin/buildings/NO-SUCH", {}),
    "pages.admin_audit": ("GET", "/admin/audit", {}),
    "pages.resident_door": ("GET", "/r/510199B00001-1-0101", {}),  # a real door: the no-script walk opens its form
    "pages.resident_report": ("POST", "/r/NO-SUCH", {"data": {"description": "楼道灯坏了"}}),
    "pages.resident_phone": ("POST", "/r/NO-SUCH/phone", {"data": {"phone": "13900001111", "action": "send"}}),
    "pages.resident_follow": ("GET", "/follow/no-such-token", {}),
    "pages.resident_follow_answer": ("POST", "/follow/no-such-token", {"data": {"action": "rate", "rating": "5"}}),
    "pages.admin_registers": ("GET", "/admin/registers", {}),
    "pages.admin_messages": ("GET", "/admin/messages", {}),
    "static": ("GET", "/static/gridops.css", {}),
    "swagger_assets.swagger_asset": ("GET", "/api/docs/assets/index.css", {}),
    "api-docs.openapi_json": ("GET", "/api/v1/openapi.json", {}),
    "api-docs.openapi_swagger_ui": ("GET", "/api/docs", {}),
    "health.healthz": ("GET", "/healthz", {}),
    "areas.areas": ("GET", "/api/v1/areas?limit=1", {}),
    "areas.area": ("GET", f"/api/v1/areas/{TEST_GRID}", {}),
    "locate.locate_one": ("GET", "/api/v1/locate?lon=104.1003&lat=30.6203", {}),
    "locate.locate_many": ("POST", "/api/v1/locate", {"data": "lon,lat\n104.1003,30.6203\n", "content_type": "text/csv"}),
    "boundaries.publish_upload": ("POST", "/api/v1/boundaries", {"data": {}}),
    "boundaries.check_upload": ("POST", "/api/v1/boundaries/check", {"data": {}}),
    "boundaries.versions": ("GET", "/api/v1/boundaries", {}),
    "boundaries.export_file": ("GET", "/api/v1/boundaries/export?format=geojson", {}),
    "boundaries.layer_misfit": ("GET", "/api/v1/layers/misfit?a=grid&b=police", {}),
    "incidents.create": ("POST", "/api/v1/incidents", {"json": {}}),
    "incidents.list_incidents": ("GET", "/api/v1/incidents?limit=5", {}),
    "incidents.get_one": ("GET", f"/api/v1/incidents/{NO_INCIDENT}", {}),
    "incidents.get_history": ("GET", f"/api/v1/incidents/{NO_INCIDENT}/history", {}),
    "incidents.photo": ("GET", f"/api/v1/incidents/{NO_INCIDENT}/photos/{'0' * 64}", {}),
    "incidents.photo_thumbnail": ("GET", f"/api/v1/incidents/{NO_INCIDENT}/photos/{'0' * 64}/thumbnail", {}),
    "incidents.flags": ("GET", "/api/v1/flags?limit=5", {}),
    "incidents.step": ("POST", f"/api/v1/incidents/{NO_INCIDENT}/comment", {"json": {"note": "看过了"}}),
    "incidents.workers": ("GET", "/api/v1/workers", {}),
    "incidents.my_tasks": ("GET", "/api/v1/me/tasks", {}),
    "patrols.list_registers": ("GET", f"/api/v1/patrols?area={TEST_GRID}", {}),
    "patrols.create_register": ("POST", "/api/v1/patrols", {"json": {}}),
    "patrols.visit": ("POST", "/api/v1/tasks/999999999/visit", {"json": {"note": "在家"}}),
    "patrols.change_register": ("PATCH", "/api/v1/patrols/999999999", {"json": {}}),
    "patrols.move_register": ("POST", "/api/v1/patrols/999999999/move", {"json": {"building": "NO-SUCH"}}),
    "patrols.pause_register": ("POST", "/api/v1/patrols/999999999/pause", {"json": {"until": "2030-01-01"}}),
    "patrols.resume_register": ("POST", "/api/v1/patrols/999999999/resume", {"json": {}}),
    "patrols.end_register": ("POST", "/api/v1/patrols/999999999/end", {"json": {}}),
    "patrols.registers_import": ("POST", "/api/v1/patrols/import", {"data": {}}),
    "patrols.registers_export": ("GET", "/api/v1/patrols/export?format=nope", {}),
    "plans.drafts": ("GET", "/api/v1/plans", {}),
    "plans.show": ("GET", "/api/v1/plans/999999", {}),
    "plans.geojson": ("GET", "/api/v1/plans/999999/geojson", {}),
    "plans.create": ("POST", "/api/v1/plans", {"json": {}}),
    "plans.edit": ("POST", "/api/v1/plans/999999/edits", {"json": {}}),
    "plans.publish": ("POST", "/api/v1/plans/999999/publish", {"json": {}}),
    "plans.discard": ("DELETE", "/api/v1/plans/999999", {}),
    "registers.list_people": ("GET", "/api/v1/people?limit=5", {}),
    "registers.create_person": ("POST", "/api/v1/people", {"json": {}}),
    "registers.get_person": ("GET", "/api/v1/people/NO-SUCH", {}),
    "registers.change_person": ("PATCH", "/api/v1/people/NO-SUCH", {"json": {}}),
    "registers.deactivate_person": ("POST", "/api/v1/people/NO-SUCH/deactivate", {"json": {}}),
    "registers.make_shift_pass": ("POST", "/api/v1/people/NO-SUCH/shift-pass", {}),
    "registers.revoke_shift_passes": ("POST", "/api/v1/people/NO-SUCH/shift-pass/revoke", {}),
    "registers.get_shifts": ("GET", "/api/v1/people/NO-SUCH/shifts", {}),
    "registers.set_shifts": ("PUT", "/api/v1/people/NO-SUCH/shifts", {"json": {}}),
    "registers.create_assignment": ("POST", "/api/v1/people/NO-SUCH/assignments", {"json": {}}),
    "registers.end_assignment": ("POST", "/api/v1/assignments/999999999/end", {"json": {}}),
    "registers.answered": ("GET", f"/api/v1/assignments?area={TEST_GRID}", {}),
    "registers.calendar_year": ("GET", "/api/v1/calendar?year=2026", {}),
    "registers.calendar_import": ("POST", "/api/v1/calendar/import", {"data": {}}),
    "registers.calendar_export": ("GET", "/api/v1/calendar/export?year=2026", {}),
    "registers.calendar_set": ("PUT", "/api/v1/calendar/not-a-day", {"json": {"kind": "holiday"}}),
    "registers.calendar_clear": ("DELETE", "/api/v1/calendar/not-a-day", {}),
    "registers.list_categories": ("GET", "/api/v1/categories", {}),
    "registers.create_category": ("POST", "/api/v1/categories", {"json": {}}),
    "registers.change_category": ("PATCH", "/api/v1/categories/no.such", {"json": {}}),
    "registers.categories_import": ("POST", "/api/v1/categories/import", {"data": {}}),
    "registers.categories_export": ("GET", "/api/v1/categories/export?format=nope", {}),
    "registers.list_groups": ("GET", "/api/v1/category-groups", {}),
    "registers.set_group": ("PUT", "/api/v1/category-groups/NO-SUCH", {"json": {}}),
    "registers.remove_group": ("DELETE", "/api/v1/category-groups/NO-SUCH", {}),
    "registers.audit": ("GET", "/api/v1/audit?limit=5", {}),
    "registers.households_import": ("POST", "/api/v1/households/import", {"data": {}}),
    "registers.households_export": ("GET", "/api/v1/households/export?format=nope", {}),
    "registers.people_import": ("POST", "/api/v1/people/import", {"data": {}}),
    "registers.people_export": ("GET", "/api/v1/people/export?format=nope", {}),
    "registers.assignments_import": ("POST", "/api/v1/assignments/import", {"data": {}}),
    "registers.assignments_export": ("GET", "/api/v1/assignments/export?format=nope", {}),
    "registers.buildings_import": ("POST", "/api/v1/buildings/import", {"data": {}}),
    "registers.buildings_export": ("GET", "/api/v1/buildings/export?format=nope", {}),
    "registers.get_days": ("GET", "/api/v1/people/NO-SUCH/days", {}),
    "registers.set_day": ("PUT", "/api/v1/people/NO-SUCH/days/2026-12-01", {"json": {"shifts": []}}),
    "registers.clear_day": ("DELETE", "/api/v1/people/NO-SUCH/days/2026-12-01", {}),
    "registers.take_leave": ("POST", "/api/v1/people/NO-SUCH/leave", {"json": {"first": "2026-12-01", "last": "2026-12-02"}}),
    "registers.swap_day": ("POST", "/api/v1/rosters/swap", {"json": {"day": "2026-12-01", "a": "NO-SUCH", "with": "NO-SUCH-2"}}),
    "registers.list_departments": ("GET", "/api/v1/departments", {}),
    "registers.change_department": ("PATCH", "/api/v1/departments/NO-SUCH", {"json": {"office_hours": None}}),
    "registers.get_building": ("GET", "/api/v1/buildings/NO-SUCH", {}),
    "registers.create_building": ("POST", "/api/v1/buildings", {"json": {}}),
    "registers.change_building": ("PATCH", "/api/v1/buildings/NO-SUCH", {"json": {}}),
    "registers.demolish_building": ("POST", "/api/v1/buildings/NO-SUCH/demolish", {"json": {}}),
    "registers.building_labels": ("GET", "/api/v1/buildings/NO-SUCH/labels", {}),
    "messages.list_messages": ("GET", "/api/v1/messages?limit=5", {}),
    "messages.retry": ("POST", "/api/v1/messages/999999999/retry", {"json": {}}),
    "messages.incident_messages": ("GET", f"/api/v1/incidents/{NO_INCIDENT}/messages", {}),
    "messages.receipts": ("POST", "/api/v1/messages/receipts/sms", {"json": {"id": "no-such", "status": "delivered"}}),
    "messages.list_templates": ("GET", "/api/v1/message-templates", {}),
    "messages.set_template": ("PUT", "/api/v1/message-templates/no_such/zh_Hans_CN", {"json": {"text": "x"}}),
    "messages.reset_template": ("DELETE", "/api/v1/message-templates/no_such/zh_Hans_CN", {}),
    "messages.preview_template": ("POST", "/api/v1/message-templates/assigned/zh_Hans_CN/preview", {"json": {}}),
    "messages.list_settings": ("GET", "/api/v1/message-settings", {}),
    "messages.change_settings": ("PUT", "/api/v1/message-settings", {"json": {"values": {}}}),
    "messages.send_test": ("POST", "/api/v1/message-settings/test", {"json": {"robot": 999999999}}),
    "messages.list_robots": ("GET", "/api/v1/robots", {}),
    "messages.create_robot": ("POST", "/api/v1/robots", {"json": {}}),
    "messages.change_robot": ("PATCH", "/api/v1/robots/999999999", {"json": {}}),
    "messages.delete_robot": ("DELETE", "/api/v1/robots/999999999", {}),
    "stats.measures": ("GET", f"/api/v1/stats?level=grid&area={TEST_GRID}", {}),
    "risk.risk": ("GET", f"/api/v1/risk?area={TEST_GRID[:12]}&res=8&view=spots", {}),
    "risk.order_patrols": ("POST", "/api/v1/risk/patrols", {"json": {"res": 10, "cells": []}}),  # refused before ordering
    "stats.live_now": ("GET", f"/api/v1/stats/live?area={TEST_GRID}", {}),
    "stream.live": ("GET", "/api/v1/stream?after=not-a-number", {}),  # refused before it would stream
    "inbox.notifications": ("GET", "/api/v1/me/notifications?limit=1", {}),
    "inbox.read_one": ("POST", f"/api/v1/me/notifications/{NO_INCIDENT}/read", {}),
    "inbox.read_all": ("POST", "/api/v1/me/notifications/read", {"json": {"up_to": "latest"}}),
    "inbox.contact": ("GET", "/api/v1/me/contact", {}),
    "inbox.change_contact": ("PUT", "/api/v1/me/contact", {"json": {"lang": "fr"}}),
    "pages.my_messages": ("GET", "/me/messages", {}),
    "open311.discovery": ("GET", "/open311/v2/discovery.json", {}),
    "open311.service_list": ("GET", "/open311/v2/services.json", {}),
    "open311.service_definition": ("GET", "/open311/v2/services/order.noise.json", {}),
    "open311.request_list": ("GET", "/open311/v2/requests.json?page_size=5", {}),
    "open311.request_one": ("GET", f"/open311/v2/requests/{NO_INCIDENT}.json", {}),
    "open311.token": ("GET", "/open311/v2/tokens/no-such-token.json", {}),
    "open311.request_create": ("POST", "/open311/v2/requests.json", {"data": {"lat": "30.6203"}}),
}


def test_every_route_has_a_line_in_the_policy_table(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)
    assert undeclared(app) == []
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(ROUTES) <= endpoints, f"lines for routes that do not exist: {sorted(set(ROUTES) - endpoints)}"
    assert set(SAMPLES) == endpoints  # the matrix below calls every route
    app.add_url_rule("/undeclared", "undeclared.view", lambda: "")
    assert undeclared(app) == ["undeclared.view"]


def test_an_app_with_an_undeclared_route_refuses_to_start(tmp_path, monkeypatch):
    from gridops.web import guard

    monkeypatch.setattr(guard, "ROUTES", {k: v for k, v in ROUTES.items() if k != "boundaries.publish_upload"})
    with pytest.raises(RuntimeError, match="boundaries.publish_upload"):
        make_app(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)


def _refused(endpoint: str, role: str | None, status: int, location: str) -> bool:
    page = endpoint.startswith("pages.")
    if role is None:
        if page:
            return status == 302 and "/login?next=" in location
        return status == (403 if endpoint.startswith("open311.") else 401)  # Open311's code for a missing api_key
    return status == 403


def test_each_role_may_call_exactly_the_routes_declared_for_it(city):
    wrong = []
    for endpoint, (method, path, kw) in sorted(SAMPLES.items()):
        access = ROUTES[endpoint]
        for role in (None, *ROLE_CODES):
            headers = {"Authorization": f"Bearer {city.tokens[USER_OF[role]]}"} if role else {}
            answer = city.client.open(path, method=method, headers=headers, **kw)
            body = answer.get_data(as_text=True)  # a streamed answer is read to its end
            answer.close()
            refused = _refused(endpoint, role, answer.status_code, answer.headers.get("Location", ""))
            if access.admits(role) == refused or answer.status_code >= 500:
                wrong.append(f"{method} {path} as {role or 'anonymous'}: {answer.status_code} "
                             f"(declared {access.who}) {body[:160]}")
    assert not wrong, "\n".join(wrong)


def test_no_route_open_to_anyone_takes_a_change(tmp_path):
    """Routes open to anyone answer only reads, except signing in and out (by token, by a phone code, limited
    per number and address, or by an admin's one-time QR code for a shift), which touch the page session alone,
    the resident's report from a door's QR label,
    anonymous by design (码上服务: a report and nothing else, rate limited per address), the reporter's rating or
    "not fixed" on their follow page (only the holder of the report's 128-bit token, rate limited per address), and
    a gateway's delivery receipts, which carry no user but the shared token they are refused without
    (tests/messages/test_admin.py); every other route that takes a change refuses an anonymous caller (the matrix
    shows it)."""
    app = make_app(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)
    changing = {rule.endpoint for rule in app.url_map.iter_rules() if rule.methods - {"GET", "HEAD", "OPTIONS"}}
    assert {e for e in changing if ROUTES[e].who == ANYONE} == {"pages.login", "pages.logout", "pages.resident_report",
                                                                 "pages.login_phone", "pages.resident_phone", "pages.login_shift",
                                                                 "pages.resident_follow_answer", "auth.phone_code",
                                                                 "auth.phone_verify", "messages.receipts"}


def test_what_each_role_lists_is_the_ground_it_sees(city):
    """The list's SQL scope agrees with the policy's rule for one incident, for every role."""
    with city.session() as s:
        grid = aliased(Area)
        rows = s.execute(select(Incident, grid.code).join(grid, grid.id == Incident.grid_id)
                         .where(Incident.status.in_(OPEN))).all()
        principals = {role: city.app.extensions["gridops.principals"].principal(s, city.tokens[USER_OF[role]])
                      for role in ROLE_CODES}
        expected = {role: {inc.id for inc, code in rows if can_see(p, inc, code)} for role, p in principals.items()}
    for role in ROLE_CODES:
        answer = city.client.get("/api/v1/incidents?limit=50000", headers={"Authorization": f"Bearer {city.tokens[USER_OF[role]]}"})
        assert answer.status_code == 200
        assert {f["id"] for f in answer.json["features"]} == expected[role], role
    assert expected["command_centre"] and not expected["planner"]
    assert 0 < len(expected["grid_worker"]) < len(expected["community_admin"]) < len(expected["command_centre"])


def test_the_table_says_what_the_street_office_expects():
    """Spot checks of the table against what each user is for, independent of how the guard reads it."""
    def roles(endpoint: str) -> set[str]:
        return set(ROUTES[endpoint].roles())

    assert roles("boundaries.publish_upload") == roles("boundaries.check_upload") == {"planner", "admin"}
    for read in ("boundaries.versions", "boundaries.export_file", "boundaries.layer_misfit"):
        assert {"planner", "admin", "command_centre"} <= roles(read) and not {"resident", "grid_worker"} & roles(read)
    assert roles("plans.publish") == {"planner", "admin"}
    assert "resident" not in roles("incidents.workers") and "resident" not in roles("patrols.list_registers")
    assert roles("incidents.my_tasks") == {"grid_worker", "grid_leader", "community_admin", "department"}
    assert ROUTES["open311.request_create"].who != ANYONE and ROUTES["incidents.create"].who != ANYONE
    # the flags of resolutions (虚假办结) are for those who verify: the command centre and the ground's leaders
    assert roles("incidents.flags") == {"grid_leader", "community_admin", "command_centre", "admin"}
    # QR door labels are printed by those who keep buildings: planners, admins, and a community admin for their ground
    assert roles("registers.building_labels") == {"community_admin", "planner", "admin"}
    assert ROUTES["pages.resident_report"].who == ANYONE and ROUTES["pages.resident_door"].who == ANYONE
