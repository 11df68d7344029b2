"""企业微信 (WeCom) application messages to one member: `message/send` with the application's access_token.

WeCom's quirks:
- the access_token (gettoken?corpid&corpsecret) lasts `expires_in` seconds (7200) and getting it is itself rate
  limited, so one token is shared by all sending threads and fetched again a few minutes before it runs out;
  WeCom may still end it early (42001 expired, 40014 invalid, 40001 bad credential): then it is fetched once
  more and the message sent again;
- every answer is HTTP 200 with an `errcode`; a member WeCom does not know comes back in `invaliduser` (with
  81013 when nobody of the message was valid);
- repeats: with `enable_duplicate_check` WeCom drops a message whose request is the same as one sent within
  `duplicate_check_interval` seconds (default 1800, at most 4 hours) — so a retry after a lost answer is not
  shown twice (keyed). The other side of it: the same words to the same member twice within the interval
  arrive once; gridops's messages name the incident and its step, so two different ones rarely match;
- 45009 / 45033 (calls too frequent / too many at once) are WeCom's rate limits; -1 is "system busy, retry".
  Past 30 messages a minute to one member WeCom silently drops the rest: nothing here can see that.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from gridops.messages.channels.base import Outcome, Outgoing, failed, retry
from gridops.messages.channels.http import call, json_of, post

API_URL = "https://qyapi.weixin.qq.com"
REFRESH_EARLY = 300.0  # seconds before its expiry a token is fetched again
_STALE_TOKEN = frozenset({42001, 40014, 40001})
_THROTTLED = frozenset({45009, 45033})
_BAD_APP = frozenset({40001, 40013, 40091})  # gettoken: a wrong secret, a wrong corpid


class WeCom:
    name = "wecom"
    keyed = True  # WeCom's own duplicate check drops a repeated request within the interval

    def __init__(self, corp_id: str, secret: str, agent_id: int, *, url: str = API_URL, duplicate_seconds: int = 1800) -> None:
        self.corp_id, self.secret, self.agent_id = corp_id, secret, agent_id
        self.url, self.duplicate_seconds = url.rstrip("/"), max(1, min(14400, duplicate_seconds))
        self._http = requests.Session()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._until = 0.0  # time.monotonic() after which the token is fetched again

    def send(self, message: Outgoing) -> Outcome:
        token, problem = self._current()
        if token is None:
            return problem or retry("no WeCom access token")
        outcome, stale = self._post(token, message)
        if stale:  # WeCom ended the token before its time: once more with a fresh one
            token, problem = self._current(stale=token)
            if token is None:
                return problem or retry("no WeCom access token")
            outcome, stale = self._post(token, message)
            if stale:
                return retry(f"WeCom refused a fresh access token too: {outcome.error}")
        return outcome

    def _payload(self, message: Outgoing) -> dict[str, Any]:
        link = message.data.get("link")
        body: dict[str, Any] = {"touser": message.address, "agentid": self.agent_id,
                                "enable_duplicate_check": 1, "duplicate_check_interval": self.duplicate_seconds}
        if link:
            body["msgtype"] = "textcard"
            body["textcard"] = {"title": message.title[:128], "description": message.body[:512], "url": str(link),
                                "btntxt": "详情"}
        else:
            body["msgtype"] = "text"
            body["text"] = {"content": message.body}
        return body

    def _post(self, token: str, message: Outgoing) -> tuple[Outcome, bool]:
        stale = False

        def judge(response: requests.Response) -> Outcome:
            nonlocal stale
            answer = json_of(response) or {}
            code = answer.get("errcode")
            if answer.get("invaliduser"):
                return failed(f"WeCom does not know the member {answer['invaliduser']!r} (errcode {code}): "
                              "check their 企业微信 userid.")
            if code == 0:
                return Outcome("sent", provider_id=str(answer.get("msgid") or "") or None)
            if code in _STALE_TOKEN:
                stale = True
            return _judged(answer, response)

        outcome = post(self._http, f"{self.url}/cgi-bin/message/send", judge, params={"access_token": token},
                       json=self._payload(message))
        return outcome, stale

    def _current(self, stale: str | None = None) -> tuple[str | None, Outcome | None]:
        """The shared token, fetched by one thread while the others wait for it."""
        with self._lock:
            if self._token is not None and self._token != stale and time.monotonic() < self._until:
                return self._token, None
            got: dict[str, Any] = {}

            def judge(response: requests.Response) -> Outcome:
                answer = json_of(response) or {}
                if answer.get("errcode") == 0 and answer.get("access_token"):
                    got.update(answer)
                    return Outcome("sent")
                return _judged(answer, response, "getting the access token")

            outcome = call(self._http, "GET", f"{self.url}/cgi-bin/gettoken", judge,
                           params={"corpid": self.corp_id, "corpsecret": self.secret})
            if not got:
                self._token = None
                return None, outcome
            lasts = float(got.get("expires_in") or 7200)
            self._token = str(got["access_token"])
            self._until = time.monotonic() + max(lasts / 2, lasts - REFRESH_EARLY)
            return self._token, None


def _judged(answer: dict[str, Any], response: requests.Response, doing: str = "sending") -> Outcome:
    """An errcode that is not success, for a message or for getting the token."""
    code = answer.get("errcode")
    said = f"WeCom errcode {code} {doing}: {answer.get('errmsg') or response.text[:200]}"
    if code in _THROTTLED:
        return retry(said, 2.0, throttled=True)
    if doing != "sending" and code in _BAD_APP:
        return failed(f"{said} (check WECOM_CORP_ID and WECOM_SECRET)")
    if code == -1 or code is None:
        return retry(said)
    if code in _STALE_TOKEN:
        return retry(said)
    return failed(said)
