"""Group chats' robots: 企业微信群机器人 and 钉钉自定义机器人, each a webhook with its key or token in the URL.

A robot row is its own configuration (its webhook, DingTalk's 加签 secret), so these channels need no setting;
the dispatcher resolves a copy's address to the robot's webhook and secret.

Their quirks:
- both answer HTTP 200 with an `errcode`; both allow 20 messages a minute per robot (WeCom 45009, DingTalk
  130101 — DingTalk then keeps the robot quiet for about 10 minutes) — a throttled robot pauses its channel a
  minute, so the others on that channel wait with it (delayed, not lost);
- WeCom: 93000 the key is not a robot's (deleted, mistyped); text up to 2048 bytes;
- DingTalk with 加签: `timestamp` (ms) and `sign` = base64 HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret,
  URL-encoded; refused (310000) when the sign does not match, the timestamp is more than an hour off, or a
  keyword/IP rule of the robot is not met; 300001 the token is not a robot's;
- neither drops a repeat: not keyed — a retry after a lost answer may post twice in the group.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote_plus

import requests

from gridops.messages.channels.base import Outcome, Outgoing, failed, retry
from gridops.messages.channels.http import json_of, post

WECOM_TEXT_BYTES = 2048


def _cut(text: str, limit: int) -> str:
    data = text.encode()
    return text if len(data) <= limit else data[:limit].decode(errors="ignore")


class WeComRobot:
    name = "wecom_robot"
    keyed = False

    def __init__(self) -> None:
        self._http = requests.Session()

    def send(self, message: Outgoing) -> Outcome:
        body = {"msgtype": "text", "text": {"content": _cut(message.body, WECOM_TEXT_BYTES)}}
        return post(self._http, message.address, _judge("WeCom robot", {45009}, {}), json=body)


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's 加签: base64 HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret (not yet URL-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalk:
    name = "dingtalk"
    keyed = False

    def __init__(self) -> None:
        self._http = requests.Session()

    def send(self, message: Outgoing) -> Outcome:
        url = message.address
        if message.secret:
            stamp = int(time.time() * 1000)  # DingTalk checks it against its own clock, not the city's
            url += f"{'&' if '?' in url else '?'}timestamp={stamp}&sign={quote_plus(dingtalk_sign(stamp, message.secret))}"
        body = {"msgtype": "text", "text": {"content": message.body}}
        return post(self._http, url, _judge("DingTalk robot", {130101}, {310000: "check the robot's 加签 secret, "
                                                                            "keywords and IP rules"}), json=body)


def _judge(who: str, throttled: set[int], hints: dict[int, str]) -> Any:
    def judge(response: requests.Response) -> Outcome:
        answer = json_of(response) or {}
        code = answer.get("errcode")
        said = f"{who} errcode {code}: {answer.get('errmsg') or response.text[:200]}"
        if code == 0:
            return Outcome("sent")
        if code in throttled:
            return retry(said, 60.0, throttled=True)
        if code == -1 or code is None:
            return retry(said)
        return failed(f"{said} ({hints[code]})" if code in hints else said)
    return judge
