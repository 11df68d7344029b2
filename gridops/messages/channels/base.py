"""What a channel is to the dispatcher: it sends one message and says what happened, in one of four words.

`sent` the gateway took it; `delivered` the gateway says it reached the person; `retry` try again later
(a 5xx, a timeout, throttling: `retry_after` when the gateway says how long); `failed` it never will (an
unknown number, a refused signature). A channel never raises for a gateway's answer: every answer is an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Status = Literal["sent", "delivered", "retry", "failed"]


@dataclass(frozen=True)
class Outgoing:
    key: str  # the delivery key: the same on every try of this copy
    address: str  # a phone number, a WeCom userid, an e-mail address, a robot's webhook
    title: str
    body: str
    kind: str
    secret: str | None = None  # a robot's signing secret
    data: Mapping[str, Any] = field(default_factory=dict)  # the message's fields, for a gateway's own templates


@dataclass(frozen=True)
class Outcome:
    status: Status
    provider_id: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds, when the gateway throttles and says for how long
    throttled: bool = False  # the channel as a whole should pause (a rate limit), not just this copy


class Channel(Protocol):
    name: str
    keyed: bool  # the gateway drops a repeat of a delivery key (else a retry after a lost answer may double)

    def send(self, message: Outgoing) -> Outcome: ...


def retry(error: str, retry_after: float | None = None, *, throttled: bool = False) -> Outcome:
    return Outcome("retry", error=error[:1000], retry_after=retry_after, throttled=throttled)


def failed(error: str) -> Outcome:
    return Outcome("failed", error=error[:1000])
