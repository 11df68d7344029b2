"""The dispatcher: it fans new notifications out, takes the copies that are due, sends them on a few threads
and writes down what each gateway said.

At least once: a copy is taken with a lease (`lease_until`) in one statement (on PostGIS with SKIP LOCKED,
so dispatchers in several processes take different copies), sent with no transaction open, and recorded
after. A dispatcher killed between the send and the record leaves the lease to run out and another sends the
copy again — with the same delivery key, which a keyed channel drops as a repeat. A try that fails waits
longer each time (exponential backoff with jitter, or as long as a throttling gateway asks, the whole channel
pausing meanwhile so its queue does not hammer it); after the last try the copy is `failed`, with the reason.
Nothing here is in the transaction of a report: a gateway that hangs or fails slows only its own copies.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from gridops.core import clock
from gridops.core.db import Database
from gridops.core.models import Delivery, Notification, Robot
from gridops.messages import channels as registry
from gridops.messages.channels.base import Channel, Outcome, Outgoing
from gridops.messages.fanout import fall_back, fan_out
from gridops.messages.settings import effective

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 12  # with the backoff below: about 1 h 45 min of tries before a copy is failed
    backoff_seconds: float = 5.0  # the first retry's wait; each next one twice as long …
    backoff_cap_seconds: float = 1800.0  # … up to this
    lease_seconds: float = 60.0  # longer than any one send can take (connect + read timeouts) and its wait for a thread
    batch: int = 64
    threads: int = 8

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Policy:
        return cls(max_attempts=int(config.get("MESSAGE_MAX_ATTEMPTS") or cls.max_attempts),
                   backoff_seconds=float(config.get("MESSAGE_RETRY_SECONDS") or cls.backoff_seconds),
                   lease_seconds=float(config.get("MESSAGE_LEASE_SECONDS") or cls.lease_seconds))

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        wait = min(self.backoff_cap_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)
        return max(wait, retry_after or 0.0)


@dataclass
class Pass:
    fanned: int = 0
    taken: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    outcomes: dict[int, Outcome] = field(default_factory=dict)

    def add(self, other: Pass) -> None:
        self.fanned, self.taken, self.sent = self.fanned + other.fanned, self.taken + other.taken, self.sent + other.sent
        self.retried, self.failed = self.retried + other.retried, self.failed + other.failed

    @property
    def busy(self) -> bool:
        return bool(self.fanned or self.taken or self.outcomes)


class Dispatcher:
    def __init__(self, db: Database, config: Mapping[str, Any], *, owner: str | None = None,
                 policy: Policy | None = None) -> None:
        self.db, self.config = db, config
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.policy = policy or Policy.of(config)
        self.tz = ZoneInfo(str(config.get("TIMEZONE") or "Asia/Shanghai"))
        # a throttled channel, or one throttled group robot ("robot:<id>": each has its own rate), not taken from until then
        self.paused: dict[str, datetime] = {}
        self._pool = ThreadPoolExecutor(self.policy.threads, thread_name_prefix="gridops-send")
        self._inflight: dict[Future[Outcome], int] = {}  # sends on the pool, by the delivery they are of
        self._settings: dict[str, Any] | None = None
        self.channels: dict[str, Channel] = {}

    def step(self, now: datetime | None = None, *, wait: bool = True) -> Pass:
        """One pass: fan out, record what has been sent meanwhile, take what is due into the free sending
        threads. With `wait`, also until everything taken is sent and recorded (a CLI pass, a test); without,
        a slow gateway's copies stay in flight while the next passes go on with the others."""
        done = Pass()
        now = now or clock.now()
        with self.db.session() as session:
            self._configure(session)
            done.fanned = fan_out(session, self._settings or {}, set(self.channels), now, self.tz)
        self.collect(done, timeout=0)
        # running on, a few waiting per thread so none idles between passes; waiting here, a whole batch
        room = self.policy.batch if wait else 2 * self.policy.threads - len(self._inflight)
        if room > 0:
            for delivery_id, channel, message in self._take(now, min(room, self.policy.batch)):
                self._inflight[self._pool.submit(self._send, message, delivery_id, channel)] = delivery_id
                done.taken += 1
        if wait:
            self.collect(done, timeout=None)
        return done

    def collect(self, done: Pass, timeout: float | None) -> None:
        """Record the sends that have finished: all of them (`timeout` None), or those done within `timeout`."""
        if not self._inflight:
            return
        if timeout is None:
            finished = list(self._inflight)
            futures_wait(finished)
        else:
            finished = list(futures_wait(list(self._inflight), timeout=timeout, return_when=FIRST_COMPLETED).done)
        outcomes = {self._inflight.pop(future): future.result() for future in finished}
        done.outcomes.update(outcomes)
        self._record(outcomes, done)

    def run(self, stop: threading.Event, idle: float = 0.5) -> Pass:
        """Pass after pass until `stop`: at once again while there is work, every `idle` seconds when there is
        none, woken early by a send that finishes. What it did, in total."""
        total = Pass()
        try:
            while not stop.is_set():
                try:
                    done = self.step(wait=False)
                    if not done.busy:
                        if self._inflight:  # to record the first send that finishes and refill its thread
                            self.collect(done, timeout=idle)
                        else:
                            stop.wait(idle)
                except Exception:  # the database away a moment: the next pass tries again
                    log.exception("notify pass failed")
                    time.sleep(1)
                    continue
                total.add(done)
        finally:
            self.collect(total, timeout=None)
            self.close()
        return total

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _configure(self, session: Session) -> None:
        settings = effective(self.config, session)
        if settings != self._settings:  # rebuilt only on a change, so a channel keeps its token between passes
            self._settings, self.channels = settings, registry.build(settings)

    def _take(self, now: datetime, limit: int) -> list[tuple[int, str, Outgoing]]:
        waiting = {k for k, until in self.paused.items() if until > now}
        live = [c for c in self.channels if c not in waiting]
        if not live:
            return []
        lease = now + timedelta(seconds=self.policy.lease_seconds)
        due = select(Delivery.id).where(Delivery.status == "queued", Delivery.next_at <= now, Delivery.channel.in_(live),
                                        or_(Delivery.lease_until.is_(None), Delivery.lease_until < now))
        robots_waiting = sorted(k for k in waiting if k.startswith("robot:"))
        if robots_waiting:
            due = due.where(Delivery.address.not_in(robots_waiting))
        due = due.order_by(Delivery.next_at).limit(limit).with_for_update(skip_locked=True)
        with self.db.session() as session:
            ids = list(session.scalars(
                update(Delivery).where(Delivery.id.in_(due.scalar_subquery()))
                .values(lease_owner=self.owner, lease_until=lease, attempts=Delivery.attempts + 1)
                .returning(Delivery.id)))
            if not ids:
                return []
            rows = session.execute(
                select(Delivery, Notification.data, Notification.kind)
                .join(Notification, Notification.id == Delivery.notification_id).where(Delivery.id.in_(ids))).all()
            robot_ids = {int(d.address.split(":", 1)[1]) for d, _, _ in rows if d.address.startswith("robot:")}
            robots = {r.id: r for r in session.scalars(select(Robot).where(Robot.id.in_(robot_ids)))} if robot_ids else {}
        taken = []
        for d, data, kind in rows:
            address, secret = d.address, None
            if d.address.startswith("robot:"):
                robot = robots.get(int(d.address.split(":", 1)[1]))
                address, secret = (robot.webhook, robot.secret) if robot is not None else ("", None)
            taken.append((d.id, d.channel, Outgoing(key=d.key, address=address, title=d.title, body=d.body, kind=kind,
                                                    secret=secret, data=dict(data or {}))))
        return taken

    def _send(self, message: Outgoing, delivery_id: int, channel: str) -> Outcome:
        sender = self.channels.get(channel)
        if sender is None:
            return Outcome("retry", error=f"the {channel} channel is no longer configured")
        if not message.address:
            return Outcome("failed", error="its robot was deleted")
        try:
            return sender.send(message)
        except Exception as exc:  # a channel's bug must not stop the others; the copy is tried again
            log.exception("channel %s failed on delivery %s", channel, delivery_id)
            return Outcome("retry", error=f"{type(exc).__name__}: {exc}"[:1000])

    def _record(self, outcomes: Mapping[int, Outcome], done: Pass) -> None:
        """What the gateways said, all in one transaction."""
        if not outcomes:
            return
        now = clock.now()
        with self.db.session() as session:
            for d in session.scalars(select(Delivery).where(Delivery.id.in_(list(outcomes)))):
                if d.lease_owner == self.owner:  # else the lease ran out and another dispatcher has it now
                    self._judge(d, outcomes[d.id], now, done)
                    if d.status == "failed":
                        fall_back(session, d, set(self.channels), now)

    def _judge(self, d: Delivery, outcome: Outcome, now: datetime, done: Pass) -> None:
        d.lease_owner, d.lease_until = None, None
        if outcome.status in ("sent", "delivered"):
            d.status, d.sent_at, d.error = outcome.status, now, None
            d.provider_id = outcome.provider_id
            if outcome.status == "delivered":
                d.delivered_at = now
            done.sent += 1
            return
        d.error = outcome.error
        if outcome.status == "failed" or d.attempts >= self.policy.max_attempts:
            d.status = "failed"
            if outcome.status == "retry":
                d.error = f"gave up after {d.attempts} tries: {outcome.error}"
            done.failed += 1
            return
        wait = self.policy.backoff(d.attempts, outcome.retry_after)
        d.status, d.held, d.next_at = "queued", False, now + timedelta(seconds=wait)
        if outcome.throttled:
            key = d.address if d.address.startswith("robot:") else d.channel  # a robot's limit is its own
            self.paused[key] = max(self.paused.get(key, now), now + timedelta(seconds=outcome.retry_after or 2.0))
        done.retried += 1


class Running(threading.Thread):
    """A dispatcher passing every `idle` seconds when there is nothing to send, at once again when there was."""

    def __init__(self, dispatcher: Dispatcher, idle: float = 0.5) -> None:
        super().__init__(name="gridops-notify", daemon=True)
        self.dispatcher, self.idle = dispatcher, idle
        self.stop = threading.Event()

    def run(self) -> None:
        self.dispatcher.run(self.stop, self.idle)
