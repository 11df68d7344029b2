"""A batch of reports taken in, in the caller's transaction: decide each, then store them all."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.errors import GeoError

from gridops.access.policy import Principal
from gridops.core import clock
from gridops.core.errors import GridopsError
from gridops.core.models import IdempotencyRecord
from gridops.core.stamps import ROUTING_STAMP, USERS_STAMP, stamps
from gridops.incidents.context import Context
from gridops.incidents.intake.decide import Placed, confirm_signed_in, decide, likely_assignees, place
from gridops.incidents.intake.duplicates import Wanted, stored_nearby
from gridops.incidents.intake.store import store
from gridops.incidents.intake.submission import NewReport, Outcome, Submission, echo, replayed
from gridops.incidents.photos import discard
from gridops.incidents.routing import WorkLoad


def take_in(session: Session, ctx: Context, subs: list[Submission]) -> list[Outcome]:
    """Decide and store a batch of reports in the caller's transaction; one outcome per submission.

    Each report is decided exactly as if it had come alone: in arrival order, a later
    report sees the earlier ones as open incidents to merge into and as work already
    handed out. A report that is refused (bad category, outside the service area, …)
    gets its error as its outcome and stores nothing; the others are not affected. An
    Idempotency-Key already stored replays its answer; the same key twice in one batch
    is decided once.
    """
    now = clock.now()
    stamp = stamps(session)
    ref = ctx.references.current(session, stamp.get(ROUTING_STAMP, 0))
    confirmed = confirm_signed_in(session, ctx, subs, stamp.get(USERS_STAMP, 0))
    keys = sorted({s.key for s in confirmed if isinstance(s, Submission) and s.key is not None})
    known = {r.key: r for r in session.connection().execute(
        select(IdempotencyRecord.key, IdempotencyRecord.request_hash, IdempotencyRecord.status_code, IdempotencyRecord.response_body)
        .where(IdempotencyRecord.key.in_(keys)))} if keys else {}
    outcomes: list[Outcome | None] = []
    placed: list[Placed] = []
    first_with_key: dict[str, Placed] = {}
    echoes: list[tuple[int, Submission, Placed]] = []  # the same key again in this batch: answered as the first
    for sub in confirmed:
        if isinstance(sub, Outcome):  # its token no longer signs anyone in
            outcomes.append(sub)
            continue
        if sub.key is not None and sub.key in known:
            r = known[sub.key]
            outcomes.append(replayed(r.request_hash, r.status_code, r.response_body, sub))
            continue
        if sub.key is not None and sub.key in first_with_key:
            echoes.append((len(outcomes), sub, first_with_key[sub.key]))
            outcomes.append(None)
            continue
        try:
            p = place(session, ctx, ref, sub, now)
        except (GridopsError, GeoError) as err:
            outcomes.append(Outcome(error=err))
            continue
        p.outcome = Outcome()
        placed.append(p)
        outcomes.append(p.outcome)
        if sub.key is not None:
            first_with_key[sub.key] = p
    if placed:
        stored = stored_nearby(session, [Wanted(p.category, p.lon, p.lat) for p in placed], now)
        load = WorkLoad.stored(session)
        load.prefetch(likely_assignees(ref, ctx.geocoder.primary_layer, placed, now))
        for k, p in enumerate(placed):  # in arrival order: each sees the ones before it
            decide(session, ctx, ref, load, p, now, stored, placed[:k])
        try:
            store(session, ctx, ref, placed, now)
        except BaseException:
            discard([f for p in placed if p.outcome for f in p.outcome.written], ctx.instance_path)
            raise
    for k, sub, first in echoes:
        assert first.outcome is not None
        outcomes[k] = echo(first.outcome, first.sub.fingerprint, sub)
    return [o for o in outcomes if o is not None]


def report(session: Session, ctx: Context, new: NewReport, actor: Principal | None) -> dict[str, Any]:
    """One report, in the caller's transaction (the CLI, Open311, the demo city and tests call this; requests queue)."""
    out = take_in(session, ctx, [Submission(new, actor)])[0]
    ctx.written.extend(out.written)
    return out.result()
