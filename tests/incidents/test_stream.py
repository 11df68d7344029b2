"""The live feed across processes: a client on one server hears a change made through another."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import time
from contextlib import contextmanager

import pytest

from gridops.access.users import add_user
from gridops.core.db import Database
from tests.cli.test_cli import GRIDOPS
from tests.conftest import TEST_POINT


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(url: str, workers: int | None = None, **settings: str):
    port = _port()
    env = {**os.environ, "DATABASE_URL": url, "GRIDOPS_SWEEP_INTERVAL_SECONDS": "0", "GRIDOPS_STREAM_HEARTBEAT_SECONDS": "1",
           **{f"GRIDOPS_{k}": v for k, v in settings.items()}}
    args = [GRIDOPS, "serve", "--port", str(port)] + (["--workers", str(workers)] if workers else [])
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class Feed:
    def __init__(self, port: int, token: str, last_id: int | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Authorization": f"Bearer {token}"}
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        self.conn.request("GET", "/api/v1/stream", headers=headers)
        self.res = self.conn.getresponse()
        assert self.res.status == 200 and self.res.getheader("Content-Type").startswith("text/event-stream")

    def close(self) -> None:
        self.conn.close()

    def next_event(self, deadline: float, kind: str = "incident") -> dict | None:
        """The next event of a kind (a worker's feed also carries `notification`s of their own messages)."""
        event: dict = {}
        while time.monotonic() < deadline:
            line = self.res.fp.readline().decode().rstrip("\n")
            if line.startswith("id: "):
                event["id"] = int(line[4:])
            elif line.startswith("event: "):
                event["event"] = line[7:]
            elif line.startswith("data: "):
                event["data"] = json.loads(line[6:])
            elif line == "" and "data" in event:
                if event.get("event", "message") == kind:
                    return event
                event = {}
        return None


def post(port: int, token: str, category: str, dx: float = 0.0) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"category": category, "lon": TEST_POINT[0] + dx, "lat": TEST_POINT[1]})
    conn.request("POST", "/api/v1/incidents", body=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    res = conn.getresponse()
    assert res.status == 201
    return json.loads(res.read())


def test_a_report_made_through_one_process_reaches_a_client_of_another_within_two_seconds(writable_demo_url, backend):
    db = Database(writable_demo_url)
    with db.session() as s:
        _, resident = add_user(s, "居民", "resident")
        _, staff = add_user(s, "值班员", "command_centre")
        _, stranger = add_user(s, "外网格员", "grid_worker", areas=["510199002003001"])
    db.dispose()
    workers = 2 if backend.name == "postgis" else None  # the production setup where it matters
    with server(writable_demo_url, workers) as listen_port, server(writable_demo_url) as write_port:
        feed = Feed(listen_port, staff)
        blind = Feed(listen_port, stranger)
        time.sleep(0.5)
        sent = time.monotonic()
        made = post(write_port, resident, "order.noise")
        event = feed.next_event(sent + 5)
        took = time.monotonic() - sent
        assert event is not None and event["data"]["id"] == made["id"] and event["data"]["action"] == "report"
        assert took < 2.0, took
        assert blind.next_event(time.monotonic() + 1.5) is None  # not their ground: they hear nothing of it

        # a client that was away resumes after the last event it saw and misses nothing
        missed = [post(write_port, resident, c, dx) for c, dx in (("dispute.neighbour", 0.0), ("hazard.fire_lane", 0.0002))]
        again = Feed(listen_port, staff, last_id=event["id"])
        ids = set()
        deadline = time.monotonic() + 5
        while len(ids) < 2 and time.monotonic() < deadline:
            got = again.next_event(deadline)
            if got:
                ids.add(got["data"]["id"])
        assert ids >= {m["id"] for m in missed}
        for f in (feed, blind, again):
            f.close()


@pytest.mark.parametrize("workers", [None, 1], ids=["threaded", "workers"])
def test_a_revoked_users_open_stream_ends_within_seconds(writable_demo_url, workers):
    from gridops.access.users import revoke

    db = Database(writable_demo_url)
    with db.session() as s:
        _, token = add_user(s, "将离职的网格长", "grid_leader", areas=["510199001002"])
    with server(writable_demo_url, workers, STREAM_RECHECK_SECONDS="1") as port:
        feed = Feed(port, token)
        time.sleep(0.5)
        with db.session() as s:
            revoke(s, "将离职的网格长")
        revoked = time.monotonic()
        lines = []
        while True:
            line = feed.res.readline()  # the body, de-chunked: b"" once the response has ended
            if not line:  # the server ended the stream (the connection itself may be kept alive)
                break
            lines.append(line.decode())
            assert time.monotonic() - revoked < 10, "the stream is still open"
        took = time.monotonic() - revoked
        assert "event: ended\n" in lines and took < 3.0, took
        feed.close()
    db.dispose()


def _open_streams(port: int, token: str, count: int) -> list[socket.socket]:
    """Open pages, in miniature: a socket each, the request sent, the answer's head read."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(f"GET /api/v1/stream HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        socks.append(sock)
    for sock in socks:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, "the server closed a stream"
            head += chunk
        assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head, head[:200]
    return socks


def test_open_pages_hold_no_thread_the_api_answers_beside_hundreds_of_streams(writable_demo_url):
    """One worker's threads (16) used to be one per open page: the 17th page, and every request
    after it, waited. Under `--workers` the streams live on the worker's loop."""
    db = Database(writable_demo_url)
    with db.session() as s:
        _, staff = add_user(s, "值班员", "command_centre")
        _, resident = add_user(s, "居民", "resident")
    db.dispose()
    with server(writable_demo_url, 1) as port:
        socks = _open_streams(port, staff, 300)
        try:
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            assert conn.getresponse().status == 200
            made = post(port, resident, "order.noise")
            assert time.monotonic() - started < 5.0  # in practice milliseconds; the old server never answered
            # and every one of the open streams hears the report
            heard = 0
            deadline = time.monotonic() + 20
            for sock in socks:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                seen = b""
                while f'"id": {made["id"]}'.encode() not in seen:
                    chunk = sock.recv(65536)
                    assert chunk, "a stream closed"
                    seen += chunk
                heard += 1
            assert heard == 300
        finally:
            for sock in socks:
                sock.close()


def test_a_server_full_of_streams_says_so_and_when_to_come_back(writable_demo_url):
    db = Database(writable_demo_url)
    with db.session() as s:
        _, staff = add_user(s, "值班员", "command_centre")
    db.dispose()
    with server(writable_demo_url, 1, STREAM_MAX_CLIENTS="3") as port:
        socks = _open_streams(port, staff, 3)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/api/v1/stream", headers={"Authorization": f"Bearer {staff}"})
            res = conn.getresponse()
            body = json.loads(res.read())
            assert res.status == 503 and res.getheader("Retry-After") == "10" and body["type"].endswith("server-busy")
            assert "实时推送" in body["detail"]
            conn.request("GET", "/healthz")  # everything else is served as before
            assert conn.getresponse().status == 200
        finally:
            for sock in socks:
                sock.close()


@pytest.mark.parametrize("workers", [None, 1], ids=["threaded", "workers"])
def test_a_resident_hears_of_their_own_report_and_nothing_else(writable_demo_url, workers):
    db = Database(writable_demo_url)
    with db.session() as s:
        _, mine = add_user(s, "居民甲", "resident")
        _, other = add_user(s, "居民乙", "resident")
    db.dispose()
    with server(writable_demo_url, workers) as port:
        feed = Feed(port, mine)
        time.sleep(0.5)
        theirs = post(port, other, "order.noise", 0.0003)
        own = post(port, mine, "hazard.fire_lane", -0.0003)
        event = feed.next_event(time.monotonic() + 5)
        assert event is not None and event["data"]["id"] == own["id"] != theirs["id"]
        feed.close()


def test_the_feed_needs_a_user_and_a_sane_last_event_id(city):
    assert city.client.get("/api/v1/stream").status_code == 401
    res = city.client.get("/api/v1/stream", headers={**city.h("command_centre"), "Last-Event-ID": "yesterday"})
    assert res.status_code == 400 and res.json["field"] == "Last-Event-ID"


def test_every_step_of_every_history_is_on_the_stream_and_a_loaded_history_is_not(city):
    from sqlalchemy import select

    from gridops.core.models import IncidentEvent, StreamEvent

    with city.session() as s:
        assert s.scalar(select(StreamEvent.id).limit(1)) is None  # the demo city's eight weeks are history, not news
    made = city.client.post("/api/v1/incidents", json={"category": "dispute.neighbour", "lon": TEST_POINT[0], "lat": TEST_POINT[1]},
                            headers=city.h("resident")).json
    for step in ("accept", "assess"):
        assert city.client.post(f"/api/v1/incidents/{made['id']}/{step}", json={}, headers=city.h("grid_worker")).status_code == 200
    with city.session() as s:
        history = s.execute(select(IncidentEvent.seq, IncidentEvent.action, IncidentEvent.to_status)
                            .where(IncidentEvent.incident_id == made["id"]).order_by(IncidentEvent.seq)).all()
        stream = [e.data for e in s.scalars(select(StreamEvent).where(StreamEvent.incident_id == made["id"]).order_by(StreamEvent.id))]
    assert [(e["seq"], e["action"], e["status"]) for e in stream] == [tuple(h) for h in history]
    assert [h[1] for h in history] == ["report", "accept", "assess"]
