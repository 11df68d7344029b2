"""Local fake gateways that behave as the real ones do, at the edge of the machine: they listen on a port,
answer the real protocol, fail, throttle and hang on demand, and remember what they received — repeats of a
delivery key dropped, as a keyed gateway does, and counted."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Faults:
    """What goes wrong, at random or for a while: a share of 500s, of hangs longer than the client waits,
    throttling (429 with Retry-After) past a rate, or everything down."""

    error_rate: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 12.0
    per_second: float | None = None  # above this many messages a second: throttled
    down: bool = False
    seed: int = 7
    _rng: random.Random = field(init=False)
    _window: list[float] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self) -> str | None:
        if self.down:
            return "down"
        if self.per_second is not None:
            now = time.monotonic()
            self._window = [t for t in self._window if now - t < 1.0]
            if len(self._window) >= self.per_second:
                return "throttle"
            self._window.append(now)
        roll = self._rng.random()
        if roll < self.error_rate:
            return "error"
        if roll < self.error_rate + self.hang_rate:
            return "hang"
        return None


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    at: float
    method: str = "POST"


class FakeGateway:
    """A gateway on 127.0.0.1: `handle(received) -> (status, headers, body)` speaks its protocol."""

    def __init__(self, handle: Callable[[FakeGateway, Received], tuple[int, dict[str, str], Any]],
                 faults: Faults | None = None) -> None:
        self.handle, self.faults = handle, faults or Faults()
        self.received: list[Received] = []  # every message taken, repeats dropped
        self.keys: dict[str, int] = {}  # delivery key -> times it came
        self.lock = threading.Lock()
        self.skew = 0.0  # seconds the gateway's clock is ahead of the machine's: its rate windows and time checks
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    body: Any = json.loads(raw or b"null")
                elif "form" in ctype:
                    body = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
                else:
                    body = raw.decode(errors="replace")
                url = urlsplit(self.path)
                got = Received(url.path, parse_qs(url.query, keep_blank_values=True), dict(self.headers), body, time.time(),
                               self.command)
                status, headers, answer = gateway.answer(got)
                payload = answer if isinstance(answer, bytes) else json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = _serve
            do_GET = _serve

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up on a hanging answer: the real gateway does not tell it either

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, got: Received) -> tuple[int, dict[str, str], Any]:
        fault = self.faults.draw()
        if fault == "down":
            return 503, {}, {"error": "service unavailable"}
        if fault == "error":
            return 500, {}, {"error": "internal error"}
        if fault == "throttle":
            return 429, {"Retry-After": "1"}, {"error": "too many requests"}
        if fault == "hang":
            time.sleep(self.faults.hang_seconds)
        return self.handle(self, got)

    def take(self, key: str | None, got: Received, *, drop: bool = True) -> bool:
        """Keep a message; false when its key came before (a repeat, dropped — unless the gateway keeps
        repeats, `drop=False`, when it is kept and counted)."""
        with self.lock:
            if key:
                self.keys[key] = self.keys.get(key, 0) + 1
                if self.keys[key] > 1 and drop:
                    return False
            self.received.append(got)
            return True

    def now(self) -> float:
        return time.monotonic() + self.skew

    def wall(self) -> float:
        return time.time() + self.skew

    @property
    def repeats(self) -> int:
        return sum(n - 1 for n in self.keys.values())

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def http_sms(faults: Faults | None = None) -> FakeGateway:
    """The generic SMS gateway: POST {to, text, id[, template, params]}, 200 {"id": …}; it keeps the id."""

    def handle(gw: FakeGateway, got: Received) -> tuple[int, dict[str, str], Any]:
        body = got.body if isinstance(got.body, dict) else {}
        if not body.get("to") or not body.get("text"):
            return 400, {}, {"error": "to and text are required"}
        gw.take(body.get("id"), got)
        return 200, {}, {"id": f"m{len(gw.received)}"}

    return FakeGateway(handle, faults)


class Window:
    """At most `limit` events per key in any `seconds` (the gateways' per-minute limits)."""

    def __init__(self, limit: int, seconds: float = 60.0) -> None:
        self.limit, self.seconds = limit, seconds
        self._events: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float) -> bool:
        with self._lock:
            events = [t for t in self._events.get(key, []) if now - t < self.seconds]
            allowed = len(events) < self.limit
            if allowed:
                events.append(now)
            self._events[key] = events
            return allowed


# ---- Aliyun 短信服务 (dysmsapi SendSms, RPC style) ----

def _aliyun_percent(value: str) -> str:
    """As Aliyun's documentation says to build it: form-encode, then + → %20, * → %2A, %7E → ~."""
    from urllib.parse import quote_plus

    return quote_plus(value, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


def aliyun_sms(faults: Faults | None = None, *, keys: dict[str, str] | None = None, sign_names: frozenset[str] = frozenset({"网格通"}),
               templates: frozenset[str] = frozenset({"SMS_1001", "SMS_1002"}), per_number_per_minute: int = 1000,
               per_second: int = 1000) -> FakeGateway:
    """dysmsapi.aliyuncs.com: checks the request and its signature as Aliyun does (HMAC-SHA1 of the sorted,
    percent-encoded parameters, keyed by `secret&`), refuses a reused nonce and a timestamp 15 minutes off,
    throttles per number (isv.BUSINESS_LIMIT_CONTROL) and per account (Throttling.User, HTTP 400), and keeps a
    repeat of an OutId (Aliyun does not drop them: counted in `repeats`)."""
    import base64
    import hashlib
    import hmac
    import re
    import uuid
    from datetime import UTC, datetime

    keys = keys if keys is not None else {"LTAItest": "aliyun-secret"}
    nonces: set[str] = set()
    numbers, account = Window(per_number_per_minute), Window(per_second, 1.0)

    def error(status: int, code: str, message: str) -> tuple[int, dict[str, str], Any]:
        return status, {}, {"RequestId": str(uuid.uuid4()).upper(), "HostId": "dysmsapi.aliyuncs.com", "Code": code,
                            "Message": message, "Recommend": "https://api.aliyun.com/troubleshoot?q=" + code}

    def business(code: str, message: str) -> tuple[int, dict[str, str], Any]:
        return 200, {}, {"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": message}

    def handle(gw: FakeGateway, got: Received) -> tuple[int, dict[str, str], Any]:
        params = dict(got.body) if isinstance(got.body, dict) else {}
        params.update({k: v[0] for k, v in got.query.items()})
        for name in ("AccessKeyId", "Action", "SignatureMethod", "SignatureNonce", "SignatureVersion", "Timestamp",
                     "Version", "Signature"):
            if not params.get(name):
                return error(400, f"Missing{name}", f"{name} is mandatory for this action.")
        if params["Action"] != "SendSms" or params["Version"] != "2017-05-25":
            return error(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            return error(400, "InvalidSignatureMethod", "Specified signature method is not valid.")
        secret = keys.get(params["AccessKeyId"])
        if secret is None:
            return error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        sign = params.pop("Signature")
        canonical = "&".join(f"{_aliyun_percent(k)}={_aliyun_percent(v)}" for k, v in sorted(params.items()))
        to_sign = f"{got.method}&{_aliyun_percent('/')}&{_aliyun_percent(canonical)}"
        expected = base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(sign, expected):
            return error(400, "SignatureDoesNotMatch", f"Specified signature is not matched with our calculation. "
                                                        f"server string to sign is:{to_sign}")
        try:
            stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            return error(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
        if abs(gw.wall() - stamp) > 15 * 60:
            return error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        with gw.lock:
            if params["SignatureNonce"] in nonces:
                return error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            nonces.add(params["SignatureNonce"])
        if not account.allow(params["AccessKeyId"], gw.now()):
            return error(400, "Throttling.User", "Request was denied due to user flow control.")
        phone = params.get("PhoneNumbers", "")
        if not re.fullmatch(r"(\+?86)?1[3-9]\d{9}", phone):
            return business("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if params.get("SignName") not in sign_names:
            return business("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        if params.get("TemplateCode") not in templates:
            return business("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            fields = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return business("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if not isinstance(fields, dict) or any(not isinstance(v, str) for v in fields.values()):
            return business("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if not numbers.allow(phone, gw.now()):
            return business("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
        got.body = params
        gw.take(params.get("OutId"), got, drop=False)
        return 200, {}, {"RequestId": str(uuid.uuid4()).upper(), "Code": "OK", "Message": "OK",
                         "BizId": f"{len(gw.received):06d}^0"}

    return FakeGateway(handle, faults)


# ---- 企业微信: gettoken and message/send ----

def wecom(faults: Faults | None = None, *, corp_id: str = "ww-corp", secret: str = "app-secret", agent_id: int = 1000002,
          users: frozenset[str] | None = None, expires_in: int = 7200, per_minute: int = 10000) -> FakeGateway:
    """qyapi.weixin.qq.com: a token good for `expires_in` (the same token while it lasts, as WeCom gives),
    42001 once it is past, 40014 for one it never gave; message/send to known members only (81013 and
    `invaliduser` otherwise), 45009 past `per_minute` calls, WeCom's duplicate check (the same request within
    its interval is answered ok and not shown again), and past 30 a minute to one member silently dropped.
    `gw.token_fetches` counts gettoken calls; `gw.expire_tokens()` ends every token now."""
    import secrets as _secrets

    users = users if users is not None else frozenset({"zhangsan", "lisi", "W001", "W002"})
    tokens: dict[str, float] = {}  # token -> expires (gw.now())
    current: list[str] = []
    shown: dict[str, tuple[float, str]] = {}  # request fingerprint -> (until, msgid)
    calls, members = Window(per_minute), Window(30)
    state = {"fetches": 0, "dropped": 0, "msg": 0}

    def handle(gw: FakeGateway, got: Received) -> tuple[int, dict[str, str], Any]:
        q = {k: v[0] for k, v in got.query.items()}
        now = gw.now()
        if got.path == "/cgi-bin/gettoken":
            with gw.lock:
                state["fetches"] += 1
                gw.token_fetches = state["fetches"]  # type: ignore[attr-defined]
            if q.get("corpid") != corp_id:
                return 200, {}, {"errcode": 40013, "errmsg": "invalid corpid"}
            if q.get("corpsecret") != secret:
                return 200, {}, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
            with gw.lock:
                if not current or tokens.get(current[0], 0) <= now:
                    current[:] = [_secrets.token_urlsafe(24)]
                    tokens[current[0]] = now + expires_in
                token = current[0]
            return 200, {}, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": int(tokens[token] - now)}
        if got.path != "/cgi-bin/message/send":
            return 404, {}, b"not found"
        token = q.get("access_token")
        if not token:
            return 200, {}, {"errcode": 41001, "errmsg": "access_token missing"}
        if token not in tokens:
            return 200, {}, {"errcode": 40014, "errmsg": "invalid access_token"}
        if tokens[token] <= now:
            return 200, {}, {"errcode": 42001, "errmsg": "access_token expired"}
        if not calls.allow("app", now):
            return 200, {}, {"errcode": 45009, "errmsg": "api freq out of limit"}
        body = got.body if isinstance(got.body, dict) else {}
        if body.get("agentid") != agent_id:
            return 200, {}, {"errcode": 40056, "errmsg": "invalid agentid"}
        kind = body.get("msgtype")
        if kind == "text" and not (body.get("text") or {}).get("content"):
            return 200, {}, {"errcode": 41009, "errmsg": "missing content"}  # 缺少消息内容
        if kind == "textcard" and not all((body.get("textcard") or {}).get(k) for k in ("title", "description", "url")):
            return 200, {}, {"errcode": 44004, "errmsg": "empty content"}
        if kind not in ("text", "textcard"):
            return 200, {}, {"errcode": 40008, "errmsg": "invalid message type"}
        to = str(body.get("touser") or "")
        if to not in users:
            return 200, {}, {"errcode": 81013, "errmsg": "user & party & tag all invalid", "invaliduser": to.lower()}
        fingerprint = json.dumps(body, sort_keys=True, ensure_ascii=False)
        with gw.lock:
            seen = shown.get(fingerprint)
            if body.get("enable_duplicate_check") == 1 and seen and seen[0] > now:
                gw.keys[fingerprint] = gw.keys.get(fingerprint, 0) + 1  # dropped by WeCom: a repeat
                return 200, {}, {"errcode": 0, "errmsg": "ok", "msgid": seen[1]}
            state["msg"] += 1
            msgid = f"msg{state['msg']:06d}"
            shown[fingerprint] = (now + float(body.get("duplicate_check_interval") or 1800), msgid)
        if not members.allow(to, now):
            state["dropped"] += 1  # WeCom answers ok and never shows it
            return 200, {}, {"errcode": 0, "errmsg": "ok", "msgid": msgid}
        gw.take(fingerprint, got)
        return 200, {}, {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    gw = FakeGateway(handle, faults)
    gw.token_fetches = 0  # type: ignore[attr-defined]

    def expire_tokens() -> None:
        with gw.lock:
            for t in tokens:
                tokens[t] = 0.0

    gw.expire_tokens = expire_tokens  # type: ignore[attr-defined]
    gw.silently_dropped = lambda: state["dropped"]  # type: ignore[attr-defined]
    return gw


# ---- group robots: 企业微信群机器人, 钉钉自定义机器人 ----

def wecom_robot(faults: Faults | None = None, *, keys: frozenset[str] = frozenset({"robot-key-1", "robot-key-2"})) -> FakeGateway:
    """/cgi-bin/webhook/send?key=…: 93000 for a key that is no robot's, 45009 past 20 messages a minute per robot."""
    window = Window(20)

    def handle(gw: FakeGateway, got: Received) -> tuple[int, dict[str, str], Any]:
        key = (got.query.get("key") or [""])[0]
        if got.path != "/cgi-bin/webhook/send" or key not in keys:
            return 200, {}, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1700000000_1_abc], from ip: 127.0.0.1"}
        body = got.body if isinstance(got.body, dict) else {}
        content = (body.get("text") or {}).get("content") if body.get("msgtype") == "text" else None
        if not content:
            return 200, {}, {"errcode": 40008, "errmsg": "invalid message type"}
        if len(content.encode()) > 2048:
            return 200, {}, {"errcode": 40058, "errmsg": "content exceed max length 2048"}
        if not window.allow(key, gw.now()):
            return 200, {}, {"errcode": 45009, "errmsg": "api freq out of limit"}
        gw.take(None, got)
        return 200, {}, {"errcode": 0, "errmsg": "ok"}

    return FakeGateway(handle, faults)


def dingtalk(faults: Faults | None = None, *, robots: dict[str, str | None] | None = None, keywords: tuple[str, ...] = (),
             quiet_seconds: float = 600.0) -> FakeGateway:
    """oapi.dingtalk.com/robot/send?access_token=…: a robot with a 加签 secret wants `timestamp` (ms, within an
    hour of DingTalk's clock) and `sign` = base64 HMAC-SHA256("timestamp\\nsecret"), else 310000; keywords, if
    set, must be in the text (310000); past 20 a minute the robot is refused (130101) for `quiet_seconds`;
    300001 for a token that is no robot's."""
    import base64
    import hashlib
    import hmac

    robots = robots if robots is not None else {"ding-token-1": "SECtest-secret", "ding-token-2": None}
    window = Window(20)
    quiet_until: dict[str, float] = {}

    def handle(gw: FakeGateway, got: Received) -> tuple[int, dict[str, str], Any]:
        q = {k: v[0] for k, v in got.query.items()}
        token = q.get("access_token", "")
        if got.path != "/robot/send" or token not in robots:
            return 200, {}, {"errcode": 300001, "errmsg": "token is not exist"}
        secret = robots[token]
        if secret:
            try:
                stamp = int(q.get("timestamp", ""))
            except ValueError:
                return 200, {}, {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}
            if abs(gw.wall() * 1000 - stamp) > 3600 * 1000:
                return 200, {}, {"errcode": 310000, "errmsg": "invalid timestamp, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}
            want = base64.b64encode(hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()).decode()
            if not hmac.compare_digest(q.get("sign", ""), want):  # parse_qs has already URL-decoded it
                return 200, {}, {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}
        body = got.body if isinstance(got.body, dict) else {}
        content = (body.get("text") or {}).get("content") if body.get("msgtype") == "text" else None
        if not content:
            return 200, {}, {"errcode": 40035, "errmsg": "缺少参数 json"}
        if keywords and not any(k in content for k in keywords):
            return 200, {}, {"errcode": 310000, "errmsg": "keywords not in content, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}
        now = gw.now()
        if quiet_until.get(token, 0) > now:
            return 200, {}, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        if not window.allow(token, now):
            quiet_until[token] = now + quiet_seconds
            return 200, {}, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        gw.take(None, got)
        return 200, {}, {"errcode": 0, "errmsg": "ok"}

    return FakeGateway(handle, faults)


# ---- SMTP: a real server (aiosmtpd) on a free port ----

def self_signed(folder: Any) -> tuple[str, str]:
    """A certificate for 127.0.0.1 (and its key), made by openssl, for the TLS modes."""
    import subprocess

    cert, key = f"{folder}/smtp-cert.pem", f"{folder}/smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


class FakeSmtp:
    """An SMTP server that takes mail for `mailboxes` (550 5.1.1 for others), answers 451 while `busy`, wants
    AUTH when `login` is given (535 for a wrong one), and speaks plain, STARTTLS (required) or implicit TLS."""

    def __init__(self, mailboxes: frozenset[str], *, security: str = "none", cert: tuple[str, str] | None = None,
                 login: tuple[str, str] | None = None) -> None:
        import email
        import email.policy
        import socket
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.mailboxes, self.busy = mailboxes, False
        self.received: list[Any] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        fake = self

        class Handler:
            async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
                if fake.busy:
                    return "451 4.3.0 Mail server temporarily rejected message, try again later"
                if address not in fake.mailboxes:
                    return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                fake.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                fake.received.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                              policy=email.policy.default))
                return "250 2.0.0 Ok: queued"

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
            ok = login is not None and (data.login.decode(), data.password.decode()) == login
            return AuthResult(success=ok, handled=False)

        context = None
        if security != "none":
            assert cert is not None, "a TLS mode needs a certificate"
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*cert)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        params: dict[str, Any] = {"decode_data": False}
        if login is not None:
            # implicit TLS: aiosmtpd cannot tell the connection is TLS, so it is not asked to require it
            params.update(authenticator=authenticate, auth_required=True, auth_require_tls=security == "starttls")
        if security == "starttls":
            params.update(tls_context=context, require_starttls=True)
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                      ssl_context=context if security == "ssl" else None, server_hostname="127.0.0.1",
                                      **params)
        self._controller.start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)

    def close(self) -> None:
        self._controller.stop()
