"""Open311 GeoReport v2, exercised the way a client written from the spec would: HTTP, form posts, XML and JSON."""

from __future__ import annotations

import http.client
import json
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from gridops.access.users import add_user
from gridops.core.db import Database
from tests.incidents.test_stream import server

DISTRICT = "510199"


class Client:
    """No gridops imports: what any GeoReport v2 client does (in English: errors are said in the language the
    client asks for, Chinese when it asks for none)."""

    def __init__(self, port: int, api_key: str) -> None:
        self.port, self.api_key = port, api_key

    def call(self, method: str, path: str, params: dict | None = None) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body, headers = None, {"Accept-Language": "en"}
        query = urllib.parse.urlencode(params or {})
        if method == "POST":
            body, headers = query, {**headers, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
            url = f"/open311/v2/{path}"
        else:
            url = f"/open311/v2/{path}" + (f"?{query}" if query else "")
        conn.request(method, url, body=body, headers=headers)
        res = conn.getresponse()
        return res.status, res.getheader("Content-Type", ""), res.read()

    def json(self, method, path, params=None):
        status, ctype, body = self.call(method, f"{path}.json", params)
        assert ctype.startswith("application/json")
        return status, json.loads(body)

    def xml(self, method, path, params=None):
        status, ctype, body = self.call(method, f"{path}.xml", params)
        assert ctype.startswith("text/xml")
        assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
        return status, ET.fromstring(body)


@pytest.fixture(scope="module")
def open311(backend, demo_template_url, tmp_path_factory):
    url = backend.clone(demo_template_url)
    db = Database(url)
    with db.session() as s:
        _, key = add_user(s, "第三方应用", "resident")
        _, staff_key = add_user(s, "指挥中心大屏", "command_centre")
    db.dispose()
    with server(url) as port:
        client = Client(port, key)
        client.url, client.staff_key = url, staff_key
        yield client


def test_discovery_names_the_spec_and_both_formats(open311):
    status, doc = open311.json("GET", "discovery")
    assert status == 200
    endpoint = doc["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    status, root = open311.xml("GET", "discovery")
    assert root.tag == "discovery" and {f.text for f in root.iter("format")} == {"text/xml", "application/json"}


def test_the_services_are_the_categories_in_both_formats(open311):
    _, services = open311.json("GET", "services", {"jurisdiction_id": DISTRICT})
    _, root = open311.xml("GET", "services")
    assert [s["service_code"] for s in services] == [e.findtext("service_code") for e in root.findall("service")]
    noise = next(s for s in services if s["service_code"] == "order.noise")
    assert noise["metadata"] is False and noise["type"] == "realtime" and noise["group"] == "order"
    status, definition = open311.json("GET", "services/order.noise")
    assert status == 200 and definition == {"service_code": "order.noise", "attributes": []}
    status, errors = open311.json("GET", "services/no.such")
    assert status == 404 and errors[0]["code"] == 404


def test_post_a_request_as_the_spec_shows_and_read_it_back(open311):
    params = {"api_key": open311.api_key, "jurisdiction_id": DISTRICT, "service_code": "environment.garbage",
              "lat": "30.6203", "long": "104.1003", "address_string": "青石路88号", "email": "a@example.org",
              "device_id": "tt222111", "account_id": "123456", "first_name": "john", "last_name": "smith",
              "phone": "13911112222", "description": "垃圾桶满溢", "media_url": "http://example.org/1.jpg",
              "attribute[WHISPAWN]": "123456"}
    status, created = open311.json("POST", "requests", params)
    assert status == 200 and len(created) == 1
    rid = created[0]["service_request_id"]
    assert isinstance(rid, str) and rid.isdigit() and created[0]["account_id"] == "123456" and created[0]["service_notice"]
    _, [request] = open311.json("GET", f"requests/{rid}", {"api_key": open311.api_key})  # the reporter's own
    assert request["service_request_id"] == rid and request["status"] == "open" and request["service_code"] == "environment.garbage"
    assert abs(request["lat"] - 30.6203) < 1e-6 and abs(request["long"] - 104.1003) < 1e-6
    assert request["description"].startswith("垃圾桶满溢")
    assert request["requested_datetime"].endswith("+08:00") and request["expected_datetime"]
    assert "13911112222" not in json.dumps(request, ensure_ascii=False) and "john" not in json.dumps(request)  # nothing personal
    _, [public] = open311.json("GET", f"requests/{rid}")  # anonymous: the place is its micro-grid's
    assert public["service_code"] == "environment.garbage" and public["description"].startswith("垃圾桶满溢")
    assert (public["lat"], public["long"]) != (request["lat"], request["long"])
    assert abs(public["lat"] - 30.6203) < 0.01 and abs(public["long"] - 104.1003) < 0.01
    _, [public] = open311.json("GET", f"requests/{rid}")  # anonymous: the place is its micro-grid's
    assert public["service_code"] == "environment.garbage" and public["description"].startswith("垃圾桶满溢")
    assert (public["lat"], public["long"]) != (request["lat"], request["long"])
    assert abs(public["lat"] - 30.6203) < 0.01 and abs(public["long"] - 104.1003) < 0.01
    _, root = open311.xml("GET", f"requests/{rid}")
    assert root.tag == "service_requests" and root.find("request").findtext("service_request_id") == rid
    status, root = open311.xml("POST", "requests", {**params, "lat": "30.6303"})
    assert status == 200 and root.find("request").findtext("service_request_id").isdigit()


def test_filters_paging_and_the_90_day_window(open311):
    window = {"start_date": "2026-09-16T00:00:00+08:00", "end_date": "2026-11-15T23:59:59+08:00", "api_key": open311.staff_key}
    _, everything = open311.json("GET", "requests", window)
    assert 500 < len(everything) <= 1000
    pages = []
    for page in (1, 2, 3):
        _, rows = open311.json("GET", "requests", {**window, "page": page, "page_size": 50})
        pages.append([r["service_request_id"] for r in rows])
    assert all(len(p) == 50 for p in pages) and len(set(sum(pages, []))) == 150
    assert sum(pages, []) == [r["service_request_id"] for r in everything[:150]]
    _, closed = open311.json("GET", "requests", {**window, "status": "closed", "service_code": "order.noise,dispute.neighbour"})
    assert closed and all(r["status"] == "closed" and r["service_code"] in ("order.noise", "dispute.neighbour") for r in closed)
    some = [r["service_request_id"] for r in everything[:3]]
    _, picked = open311.json("GET", "requests", {"service_request_id": ",".join(some), "status": "open", "service_code": "x"})
    assert sorted(r["service_request_id"] for r in picked) == sorted(some)  # ids override every other argument
    status, errors = open311.json("GET", "requests", {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"})
    assert status == 400 and "90 days" in errors[0]["description"]


def test_errors_come_in_the_specs_format(open311):
    status, errors = open311.json("POST", "requests", {"service_code": "order.noise", "lat": "30.62", "long": "104.1"})
    assert status == 403 and errors == [{"code": 403, "description": errors[0]["description"]}] and "api_key" in errors[0]["description"]
    status, root = open311.xml("POST", "requests", {"api_key": "wrong", "service_code": "order.noise", "lat": "30.62", "long": "104.1"})
    assert status == 403 and root.tag == "errors" and root.find("error").findtext("code") == "403"
    status, errors = open311.json("POST", "requests", {"api_key": open311.api_key, "lat": "30.62", "long": "104.1"})
    assert status == 400 and "service_code" in errors[0]["description"]
    far_away = {"api_key": open311.api_key, "service_code": "order.noise", "lat": "30.62", "long": "110"}
    status, errors = open311.json("POST", "requests", far_away)
    assert status == 400 and "outside the service area" in errors[0]["description"]
    status, errors = open311.json("GET", "requests/999999999")
    assert status == 404 and errors[0]["code"] == 404
    status, _ = open311.json("GET", "requests", {"jurisdiction_id": "110101"})
    assert status == 404
    status, errors = open311.json("GET", "requests", {"page_size": 5000})
    assert status == 400
    status, errors = open311.json("GET", "tokens/nothing")
    assert status == 404


def test_tokens_lead_to_their_request(open311, backend):
    _, [created] = open311.json("POST", "requests", {"api_key": open311.api_key, "service_code": "livelihood.repair",
                                                     "lat": "30.6203", "long": "104.1009", "description": "路灯不亮"})
    db = Database(open311.url)
    from sqlalchemy import select

    from gridops.core.models import Incident

    with db.session() as s:
        token = s.scalar(select(Incident.token).where(Incident.id == int(created["service_request_id"])))
    db.dispose()
    status, [row] = open311.json("GET", f"tokens/{token}")
    assert status == 200 and row == {"service_request_id": created["service_request_id"], "token": token}


def test_the_public_view_hides_care_police_and_the_words_of_disputes(open311):
    """Anonymous clients see public categories only, each at its micro-grid's centroid, and no words of a
    sensitive category; a command-centre key sees everything, exactly."""
    from geoalchemy2.shape import to_shape
    from sqlalchemy import select

    from gridops.core.models import Area, Category

    window = {"start_date": "2026-09-16T00:00:00+08:00", "end_date": "2026-11-15T23:59:59+08:00"}
    _, public = open311.json("GET", "requests", window)
    _, everything = open311.json("GET", "requests", {**window, "api_key": open311.staff_key})
    db = Database(open311.url)
    with db.session() as s:
        flags = {c.code: (c.public, c.sensitive) for c in s.scalars(select(Category))}
        centroids = {a.name: to_shape(a.geom).centroid for a in s.scalars(select(Area).where(Area.level.in_(("grid", "micro_grid"))))}
    db.dispose()
    hidden = {code for code, (pub, _) in flags.items() if not pub}
    assert hidden >= {"care.elderly", "security.suspicious"}
    staff_codes = {r["service_code"] for r in everything}
    assert hidden & staff_codes  # the command centre sees care and police matters ...
    assert not hidden & {r["service_code"] for r in public} and public  # ... the public does not
    disputes = [r for r in public if flags[r["service_code"]][1]]
    assert disputes and all(r["description"] is None for r in disputes)
    assert any(r["description"] for r in everything if flags[r["service_code"]][1])
    for r in public[:50]:
        c = centroids[r["address"]]  # the address is the micro-grid's (or grid's) name, the place its centroid
        assert abs(c.y - r["lat"]) < 1e-5 and abs(c.x - r["long"]) < 1e-5 and r["address_id"] is None
    some_care = next(r["service_request_id"] for r in everything if r["service_code"] == "care.elderly")
    status, errors = open311.json("GET", f"requests/{some_care}")
    assert status == 404 and errors[0]["code"] == 404  # the same answer as for an id that does not exist
    status, _ = open311.json("GET", f"requests/{some_care}", {"api_key": open311.staff_key})
    assert status == 200


@pytest.mark.parametrize("rid", ["%C2%B2", "%D9%A3", "%EF%BC%91", "99999999999999999999999"])
def test_an_id_that_is_no_64_bit_number_is_not_found_never_a_fault(open311, rid):
    """'²'.isdigit() is true and int('３') is 3: an id is ASCII digits that fit a stored id, or it names nothing."""
    status, errors = open311.json("GET", f"requests/{rid}")
    assert status == 404 and errors[0]["code"] == 404
    status, errors = open311.json("GET", "requests", {"service_request_id": urllib.parse.unquote(rid)})
    assert status == 400 and "is not a request id" in errors[0]["description"]


def test_a_url_under_open311_that_is_no_resource_answers_in_the_specs_format(open311):
    """No view answers discovery.html or DELETE, so no blueprint handler would: the app's says it Open311's way."""
    status, ctype, body = open311.call("GET", "discovery.html")
    assert status == 404 and ctype.startswith("text/xml") and ET.fromstring(body).find("error").findtext("code") == "404"
    status, ctype, body = open311.call("DELETE", "requests.json")
    assert status == 405 and ctype.startswith("application/json") and json.loads(body)[0]["code"] == 405


def test_a_nul_in_a_path_segment_is_a_400_on_either_backend(open311):
    """PostgreSQL's text cannot hold a NUL: a token id with one was a 500 on PostGIS."""
    status, errors = open311.json("GET", "tokens/a%00b")
    assert status == 400 and "NUL" in errors[0]["description"]


@pytest.mark.parametrize("start", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00+14:00", "9999-12-31T23:59:59"])
def test_a_time_beyond_the_years_served_is_a_400(open311, start):
    status, errors = open311.json("GET", "requests", {"start_date": start})
    assert status == 400 and "start_date" in errors[0]["description"]
