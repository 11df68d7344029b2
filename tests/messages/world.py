"""What the channel tests set up in a database: workers and their contacts, robots, messages; and a
dispatcher pass at a given time, as the command centre would then see the copies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from gridops.core import clock
from gridops.core.db import Database
from gridops.core.models import Contact, Delivery, Robot, Worker
from gridops.messages.dispatcher import Dispatcher, Pass, Policy
from gridops.messages.outbox import enqueue

NOON = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, outside the quiet hours
TASK = {"category": "楼道堆物", "address": "锦江区春熙路1号3单元", "due": "12月3日 17:30", "reason": ""}


def dispatcher(db: Database, settings: dict[str, Any], **policy: Any) -> Dispatcher:
    config = {"QUIET_HOURS": "22:00-07:00", "TIMEZONE": "Asia/Shanghai", **settings}
    return Dispatcher(db, config, owner="test", policy=Policy(**policy) if policy else None)


def step(d: Dispatcher, at: datetime = NOON) -> Pass:
    with clock.moved(at):
        return d.step()


def worker(db: Database, code: str, *, email: str | None = None, wecom_user: str | None = None,
           channels: list[str] | None = None) -> int:
    with db.session() as s:
        w = Worker(code=code, name=f"网格员{code}", role="grid_worker", phone="13800001111")
        s.add(w)
        s.flush()
        if email or wecom_user or channels is not None:
            s.add(Contact(worker_id=w.id, email=email, wecom_user=wecom_user, channels=channels, updated_at=NOON))
        return w.id


def robot(db: Database, channel: str, webhook: str, *, secret: str | None = None, kinds: Iterable[str] = ("accepted",)) -> int:
    with db.session() as s:
        r = Robot(name=f"{channel} 群", channel=channel, webhook=webhook, secret=secret, kinds=list(kinds), active=True,
                  created_at=NOON)
        s.add(r)
        s.flush()
        return r.id


def tasks(db: Database, worker_id: int, n: int, *, link: bool = False, at: datetime = NOON, first: int = 200) -> None:
    with db.session() as s:
        for i in range(n):
            data = {**TASK, **({"link": f"https://grid.example.gov.cn/i/{first + i}"} if link else {})}
            enqueue(s, "assigned", at=at, worker_id=worker_id, data={**data, "incident": first + i})


def resident(db: Database, n: int, *, kind: str = "accepted", phones: Iterable[str] | None = None, at: datetime = NOON) -> None:
    numbers = list(phones) if phones is not None else [f"1380000{i:04d}" for i in range(n)]
    with db.session() as s:
        for i, phone in enumerate(numbers[:n]):
            enqueue(s, kind, at=at, phone=phone,
                    data={"incident": 100 + i, "category": "楼道堆物", "due": "12月3日 17:30",
                          "link": f"https://grid.example.gov.cn/f/{i}"})


def copies(db: Database, channel: str | None = None) -> list[Delivery]:
    with db.session() as s:
        q = select(Delivery).order_by(Delivery.id)
        if channel:
            q = q.where(Delivery.channel == channel)
        rows = list(s.scalars(q))
        s.expunge_all()
        return rows
