"""The writer: per process, one thread that drains the queue of submissions and stores the
reports that arrived together in one transaction (group commit), while each request waits
for its own answer.

If a batch's transaction fails — another process committed the same Idempotency-Key
first, or anything unexpected — every submission is retried alone in its own
transaction, so one bad report can never fail the others.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridops.core.db import POSTGIS, Database
from gridops.core.models import IdempotencyRecord
from gridops.incidents.context import Context
from gridops.incidents.intake.submission import Outcome, Submission, replayed
from gridops.incidents.intake.take import take_in
from gridops.incidents.photos import discard

log = logging.getLogger(__name__)
MAX_BATCH = 64
WRITER_IDLE_SECONDS = 2.0  # after this long with no report the writer gives its connection back


class IntakeQueue:
    """Per process: submissions in, one writer thread storing them in batches, answers out."""

    def __init__(self, db: Database, context: Callable[[], Context], max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.context = context
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Submission, Future]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._conn: Connection | None = None  # the writer's own connection while reports keep coming (PostGIS)

    def submit(self, sub: Submission, timeout: float = 60.0) -> Outcome:
        """Queue a report and wait until it is committed (or refused); its outcome."""
        self._ensure_writer()
        future: Future[Outcome] = Future()
        self._queue.put((sub, future))
        return future.result(timeout)

    def _ensure_writer(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._queue = queue.SimpleQueue() if self._pid != os.getpid() else self._queue
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="gridops-intake", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=WRITER_IDLE_SECONDS)
            except queue.Empty:
                self._release()  # quiet: the connection goes back to the pool
                continue
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                outcomes = self._write([s for s, _ in batch])
            except BaseException as exc:  # never leave a request waiting
                log.exception("intake writer failed")
                outcomes = [Outcome(error=exc) for _ in batch]
            for (_, future), out in zip(batch, outcomes, strict=True):
                future.set_result(out)

    def _write(self, subs: list[Submission]) -> list[Outcome]:
        ctx = self.context()
        try:
            return self._transaction(ctx, subs)
        except Exception:
            if len(subs) == 1:
                return [self._alone(ctx, subs[0])]
            log.info("a batch of %d reports failed; storing them one by one", len(subs), exc_info=True)
            return [self._alone(ctx, s) for s in subs]

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A unit of work on the writer's own connection, kept from batch to batch while reports keep
        coming: checking one out of the pool costs a ping (a round trip) per batch. A connection that
        failed is dropped and the next batch opens a fresh one."""
        if self.db.backend != POSTGIS or self.db.disposed:
            self._release()
            with self.db.session() as session:
                yield session
            return
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._release()
            self._conn = self.db.engine.connect()
        session = Session(bind=self._conn, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            try:
                session.rollback()
            except Exception:  # the connection itself is gone
                pass
            self._release()
            raise
        finally:
            session.close()

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a connection the server already dropped
                log.debug("closing the intake writer's connection failed", exc_info=True)

    def _transaction(self, ctx: Context, subs: list[Submission]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            with self._session() as session:
                outcomes = take_in(session, ctx, subs)
        except BaseException:
            discard([p for o in outcomes for p in o.written], ctx.instance_path)
            raise
        for o in outcomes:
            if o.error is not None or o.replayed:
                discard(o.written, ctx.instance_path)
        return outcomes

    def _alone(self, ctx: Context, sub: Submission) -> Outcome:
        try:
            return self._transaction(ctx, [sub])[0]
        except IntegrityError as exc:
            lost_race = exc
        except Exception as exc:  # the request answers 500 and the error is logged; the others go on
            return Outcome(error=exc)
        # another process stored this key first: its answer is ours
        if sub.key is not None:
            with self.db.session() as session:
                r = session.get(IdempotencyRecord, sub.key)
                if r is not None:
                    return replayed(r.request_hash, r.status_code, r.response_body, sub)
        return Outcome(error=lost_race)
