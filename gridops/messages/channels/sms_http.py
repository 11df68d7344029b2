"""SMS through a generic HTTP gateway (the kind an intranet's 短信平台 offers): one POST per message, JSON or a
form, with the gateway's template id per kind of message when it needs registered templates (短信模板).

Sent: `to`, `text` (the rendered message), `template` and `params` (when a template id is configured for the
kind), and `id` — the delivery key, which a gateway that keeps it drops repeats by. A 2xx answer is taken;
its JSON `id` (or `msgid`) is kept as the gateway's message id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import requests

from gridops.messages.channels.base import Outcome, Outgoing
from gridops.messages.channels.http import json_of, post


class HttpSms:
    name = "sms"

    def __init__(self, url: str, *, token: str = "", form: bool = False, templates: Mapping[str, str] | None = None,
                 keyed: bool = True) -> None:
        self.url, self.form, self.templates, self.keyed = url, form, dict(templates or {}), keyed
        self._http = requests.Session()
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"

    def send(self, message: Outgoing) -> Outcome:
        payload: dict[str, object] = {"to": message.address, "text": message.body, "id": message.key}
        template = self.templates.get(message.kind)
        params = {k: str(v) for k, v in message.data.items() if v is not None and not isinstance(v, list | dict)}
        if template:
            payload["template"] = template
            payload["params"] = json.dumps(params, ensure_ascii=False) if self.form else params
        if self.form:
            return post(self._http, self.url, _judge, data=payload)
        return post(self._http, self.url, _judge, json=payload)


def _judge(response: requests.Response) -> Outcome:
    body = json_of(response) or {}
    provider = body.get("id") or body.get("msgid")
    return Outcome("sent", provider_id=str(provider) if provider is not None else None)
