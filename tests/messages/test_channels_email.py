"""E-mail against a real SMTP server (aiosmtpd, in this process, on a free port) on both backends: the mail
as received, in each security mode, and what the server's replies make of a copy."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from gridops.core.db import Database
from tests.messages.fakes import FakeSmtp, self_signed
from tests.messages.world import NOON, copies, dispatcher, step, tasks, worker

# implicit TLS is TLS from the first byte, which aiosmtpd does not see when it checks AUTH
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
BOXES = frozenset({"zhang.san@grid.example.gov.cn"})


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("smtp-tls"))


def settings(server: FakeSmtp, **changes) -> dict:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.port), "SMTP_FROM": "网格通知 <notify@grid.example.gov.cn>",
            "SMTP_SECURITY": "none", "ROBOTS": False, **changes}


def _mailed(db: Database, address: str = "zhang.san@grid.example.gov.cn", n: int = 1) -> None:
    w = worker(db, "W001", email=address, channels=["email"])
    tasks(db, w, n)


def test_a_task_arrives_as_a_chinese_mail_with_the_delivery_key_in_its_message_id(db):
    server = FakeSmtp(BOXES)
    try:
        _mailed(db)
        d = dispatcher(db, settings(server))
        done = step(d)
        d.close()
        assert done.sent == 1
        mail = server.wait_for(1)[0]
        row = copies(db)[0]
        assert mail["Subject"] == "新任务" and mail["To"] == "zhang.san@grid.example.gov.cn"
        assert mail["From"].addresses[0].addr_spec == "notify@grid.example.gov.cn" and mail["From"].addresses[0].display_name == "网格通知"
        assert mail["Message-ID"] == f"<{row.key}@grid.example.gov.cn>" and mail["Date"]
        assert mail.get_content_charset() == "utf-8"
        assert "【网格任务】#200 楼道堆物，锦江区春熙路1号3单元，请于12月3日 17:30前处置。" in mail.get_content()
        assert row.status == "sent" and server.envelopes[0][0] == "notify@grid.example.gov.cn"
    finally:
        server.close()


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_a_mail_goes_over_tls_with_a_login(db, cert, monkeypatch, security):
    monkeypatch.setenv("SSL_CERT_FILE", cert[0])  # this machine trusts the test server's certificate
    server = FakeSmtp(BOXES, security=security, cert=cert, login=("gridops", "pass-s3cret"))
    try:
        _mailed(db)
        d = dispatcher(db, settings(server, SMTP_SECURITY=security, SMTP_USER="gridops", SMTP_PASSWORD="pass-s3cret"))
        done = step(d)
        d.close()
        assert done.sent == 1 and server.wait_for(1)[0]["Subject"] == "新任务"
    finally:
        server.close()


def test_an_untrusted_certificate_fails_with_the_reason(db, cert):
    server = FakeSmtp(BOXES, security="starttls", cert=cert, login=("gridops", "right"))
    try:
        _mailed(db)
        d = dispatcher(db, settings(server, SMTP_SECURITY="starttls", SMTP_USER="gridops", SMTP_PASSWORD="wrong"))
        step(d)
        d.close()
        row = copies(db)[0]
        assert row.status == "failed" and "certificate is not trusted" in row.error and not server.received
    finally:
        server.close()


def test_a_refused_login_fails(db, cert, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", cert[0])
    server = FakeSmtp(BOXES, security="starttls", cert=cert, login=("gridops", "right"))
    try:
        _mailed(db)
        d = dispatcher(db, settings(server, SMTP_SECURITY="starttls", SMTP_USER="gridops", SMTP_PASSWORD="wrong"))
        step(d)
        d.close()
        row = copies(db)[0]
        assert (row.status, row.attempts) == ("failed", 1) and "SMTP 535" in row.error
    finally:
        server.close()


def test_an_unknown_mailbox_fails_at_once(db):
    server = FakeSmtp(BOXES)
    try:
        _mailed(db, "nobody@grid.example.gov.cn")
        d = dispatcher(db, settings(server))
        step(d)
        d.close()
        row = copies(db)[0]
        assert (row.status, row.attempts) == ("failed", 1) and "SMTP 550" in row.error and "User unknown" in row.error
    finally:
        server.close()


def test_a_server_that_says_not_now_or_is_away_delays_the_mail_and_loses_none(db):
    server = FakeSmtp(BOXES)
    try:
        _mailed(db, n=2)
        server.busy = True
        d = dispatcher(db, settings(server), backoff_seconds=10.0)
        first = step(d)
        assert first.retried == 2 and all("SMTP 451" in r.error for r in copies(db))
        server.busy = False
        server.close()  # now nobody listens there
        away = step(d, NOON + timedelta(seconds=30))
        assert away.retried == 2 and all("could not reach the mail server" in r.error for r in copies(db))
        server = FakeSmtp(BOXES)  # back, on another port: the admin points SMTP_PORT at it
        d.close()
        d = dispatcher(db, settings(server))
        step(d, NOON + timedelta(minutes=5))
        d.close()
        assert len(server.wait_for(2)) == 2 and {(r.status, r.attempts) for r in copies(db)} == {("sent", 3)}
    finally:
        server.close()


def test_nothing_listening_is_a_retry(db):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _mailed(db)
    d = dispatcher(db, {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_FROM": "notify@grid.example.gov.cn",
                        "SMTP_SECURITY": "none", "ROBOTS": False})
    step(d)
    d.close()
    row = copies(db)[0]
    assert row.status == "queued" and "ConnectionRefusedError" in row.error
