"""SMS through Aliyun 短信服务 (dysmsapi, SendSms), the RPC API signed with the AccessKey (HMAC-SHA1).

Aliyun's quirks:
- only registered templates (短信模板) are sent, under a registered signature (短信签名): the kind's TemplateCode
  comes from SMS_TEMPLATES (kind=SMS_xxx) and the message's fields go as TemplateParam, all as strings; a kind
  with no TemplateCode cannot be sent at all, and its copy fails saying which setting is missing;
- every request is signed afresh: a new SignatureNonce (Aliyun refuses one it saw, SignatureNonceUsed) and a
  Timestamp on the real clock (refused when 15 minutes off);
- the answer's `Code` says what happened, with HTTP 200 for the business errors (isv.*) and 4xx for the gateway's
  own (SignatureDoesNotMatch, InvalidAccessKeyId.NotFound, Throttling.User);
- rate limits per number (isv.BUSINESS_LIMIT_CONTROL: about 1 a minute, 5 an hour for a number) and per account
  (Throttling.User);
- OutId (the delivery key) is only echoed in receipts: Aliyun does not drop a repeat by it, so this channel is
  not keyed — a copy whose answer was lost may reach the phone twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

import requests

from gridops.messages.channels.base import Outcome, Outgoing, failed, retry
from gridops.messages.channels.http import json_of, post

API_URL = "https://dysmsapi.aliyuncs.com"

# Aliyun's codes worth another try: its own trouble, a nonce or clock hiccup, an account an admin can top up
_RETRY = frozenset({"isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR", "isp.UNKNOWN", "ServiceUnavailable", "InternalError",
                    "SignatureNonceUsed", "InvalidTimeStamp.Expired", "isv.OUT_OF_SERVICE", "isv.AMOUNT_NOT_ENOUGH",
                    "isv.BILLING_DEDUCTION_ERROR"})
_ACCOUNT_THROTTLED = frozenset({"Throttling.User", "Throttling", "Throttling.Api"})  # the whole channel waits
_NUMBER_THROTTLED = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "BUSINESS_LIMIT_CONTROL_MINUTE", "isv.BUSINESS_LIMIT_HOUR"})


def percent(value: str) -> str:
    """Aliyun's percent-encoding (RFC 3986: only A-Z a-z 0-9 - _ . ~ left as they are, a space as %20)."""
    return quote(value, safe="~")


def signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """The Signature of an RPC request: HMAC-SHA1 keyed by `secret&` over METHOD&%2F&percent(sorted query)."""
    canonical = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent('/')}&{percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSms:
    name = "sms"
    keyed = False  # OutId is not a repeat filter at Aliyun

    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str, *,
                 templates: Mapping[str, str] | None = None, url: str = API_URL, region: str = "cn-hangzhou") -> None:
        self.key_id, self.secret, self.sign_name = access_key_id, access_key_secret, sign_name
        self.templates, self.url, self.region = dict(templates or {}), url.rstrip("/") + "/", region
        self._http = requests.Session()

    def send(self, message: Outgoing) -> Outcome:
        template = self.templates.get(message.kind)
        if not template:
            return failed(f"Aliyun sends only registered templates, and SMS_TEMPLATES gives none for {message.kind!r}: "
                          f"add {message.kind}=<its TemplateCode, SMS_…> to SMS_TEMPLATES.")
        fields = {k: str(v) for k, v in message.data.items() if v is not None and not isinstance(v, list | dict)}
        params = {
            "AccessKeyId": self.key_id, "Action": "SendSms", "Format": "JSON", "RegionId": self.region,
            "SignatureMethod": "HMAC-SHA1", "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25",
            "PhoneNumbers": message.address, "SignName": self.sign_name, "TemplateCode": template,
            "TemplateParam": json.dumps(fields, ensure_ascii=False, separators=(",", ":")), "OutId": message.key,
        }
        params["Signature"] = signature(params, self.secret)
        body = "&".join(f"{percent(k)}={percent(v)}" for k, v in params.items())
        return post(self._http, self.url, _judge, judge_errors=True, data=body.encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def _judge(response: requests.Response) -> Outcome:
    body = json_of(response) or {}
    code, said = str(body.get("Code") or ""), f"{body.get('Code')}: {body.get('Message')}"
    if code == "OK":
        return Outcome("sent", provider_id=str(body.get("BizId") or "") or None)
    if not code:
        return failed(f"HTTP {response.status_code}, not an Aliyun answer: {response.text[:200]}")
    if code in _ACCOUNT_THROTTLED:
        return retry(f"throttled by Aliyun ({said})", 1.0, throttled=True)
    if code in _NUMBER_THROTTLED:  # this number's limit: only this copy waits, the others go on
        return retry(f"Aliyun's limit for this number ({said})", 60.0)
    if code in _RETRY or code.startswith("isp."):
        return retry(f"Aliyun: {said}")
    return failed(f"Aliyun refused it: {said}")
