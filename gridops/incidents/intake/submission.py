"""A report as it comes in, and the outcome each submitter waits for."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gridops.access.policy import Principal
from gridops.core.errors import Conflict
from gridops.incidents.idempotency import replay
from gridops.incidents.photos import Photo

CHANNELS = ("app", "qr", "photo", "hotline", "patrol", "open311")


@dataclass
class NewReport:
    """What a resident, a worker or a hotline operator reports: what, where, who to call back."""

    category: str
    channel: str
    description: str | None = None
    x: float | None = None
    y: float | None = None
    crs: str | None = None
    building: str | None = None
    household: str | None = None
    address: str | None = None
    reporter_name: str | None = None
    reporter_contact: str | None = None
    photos: list[Photo] = field(default_factory=list)
    token: str | None = None
    device_at: datetime | None = None  # when the phone says it was reported (sent later from its outbox)
    accuracy_m: float | None = None  # how sure the phone was of x/y


@dataclass
class Submission:
    """One report as a request hands it over: what, by whom, and the key that makes it happen once."""

    new: NewReport
    actor: Principal | None
    key: str | None = None
    fingerprint: str = ""
    method: str = "POST"
    path: str = ""
    token_hash: str | None = None  # the actor's token, confirmed again in the storing transaction


@dataclass
class Outcome:
    """What one submission came to: the answer (201, or a replay of the first), or the error."""

    status: int = 201
    answer: dict[str, Any] | None = None
    error: BaseException | None = None
    replayed: bool = False
    written: list[str] = field(default_factory=list)  # photo files this submission wrote

    def result(self) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer


def replayed(record_hash: str, status: int, body: str, sub: Submission) -> Outcome:
    """The stored answer to an Idempotency-Key again, or the conflict of another request under it."""
    try:
        status, answer = replay(record_hash, status, body, sub.fingerprint)
    except Conflict as err:
        return Outcome(error=err)
    return Outcome(status=status, answer=answer, replayed=True)


def echo(first: Outcome, first_fingerprint: str, sub: Submission) -> Outcome:
    """A second submission of a key within the same batch, answered as the first."""
    return replayed(first_fingerprint, first.status, json.dumps(first.answer, default=str), sub)
