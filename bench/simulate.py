"""A month of incidents on the demo city, routed two ways: gridops' routing and the naive rule.

    .venv/bin/python bench/simulate.py [--seed 7] [--weeks 4] [--scale 1 3]

The incidents are the demo city's own generator run for a month (`--weeks`):
its categories, places, hours and hot spots, duplicates left out (intake merges
them: a report intake's own matcher, gridops.incidents.intake.duplicates, finds
a twin for among the month's earlier reports within its category's radius and
window is dropped). `--scale K` replays K such months at once (K independent draws of the
month laid over each other) to see how each rule copes with more work.

Both rules are replayed over the same reports, workers, shifts and calendar,
in 5-minute steps:

- **gridops**: `gridops.incidents.routing.route` itself — the grid's worker on shift,
  else its backup on shift, else the grid leader on shift, else the nearest
  worker on shift in the community (along the streets), least open work first;
  departments' categories to their staff on shift.
- **naive**: every grid-team report to the grid's own (primary) worker, on
  shift or not; departments' categories as above (the comparison is about the
  grid's work).

A worker works only on shift, one task at a time, nearest-due first: walking to
the place (1.2 m/s, 1.3 × the straight line) then handling it (a lognormal time
by category group); a resolved report is verified and closed 30 minutes later.
Every hour the sweeper escalates work still untouched after its deadline one
tier up the ladder, the same for both rules (`route(tier=…)`).

Measured per rule: time to assign (report → in the hands of someone on shift),
share closed on time (of the reports due within the month), in-grid resolution
rate (格内解决率: closed without going above the grid leader), share handled by
the grid's own team, and workload balance across grid workers (coefficient of
variation and max/mean of tasks handled, and of hours busy).
Writes bench/out/simulate.json.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from gridops.geo.crs import distances_m

from gridops.incidents.loop import LADDER
from gridops.incidents.routing import Ground, Route, WorkLoad, last_positions, route

ROOT = Path(__file__).resolve().parent.parent

OUT = ROOT / "bench" / "out"
STEP = timedelta(minutes=5)
WALK_M_PER_S, DETOUR = 1.2, 1.3
VERIFY = timedelta(minutes=30)
# median handling minutes by category group (lognormal, sigma 0.5)
HANDLING = {"care": 40, "dispute": 90, "hazard": 45, "order": 45, "livelihood": 90, "environment": 60, "security": 40}
GRID_TIERS = ("grid", "grid_leader")


def log(msg: str) -> None:
    print(msg, flush=True)


@dataclass
class Job:
    id: int
    category: str
    group: str
    lon: float
    lat: float
    reported: datetime
    due: datetime
    grid: str
    community: str | None
    street: str | None
    handling: timedelta
    assignee: int | None = None
    tier: str = "grid"
    reason: str = ""
    on_shift_at: datetime | None = None  # first moment it was with someone on shift
    started: datetime | None = None
    closed: datetime | None = None
    escalations: int = 0
    own_team: bool = False


@dataclass
class WorkerState:
    id: int
    lon: float
    lat: float
    queue: list = field(default_factory=list)  # heap of (due, job id)
    busy_until: datetime | None = None
    current: int | None = None
    handled: int = 0
    busy: timedelta = timedelta(0)


class SimLoad(WorkLoad):
    """Open work as the simulation holds it (route() asks it who has the least)."""

    def __init__(self, counts: dict[int, int]) -> None:
        self.counts = counts

    def prefetch(self, worker_ids) -> None:
        return None

    def of(self, worker_ids):
        return {w: self.counts.get(w, 0) for w in worker_ids}

    def hand(self, worker_id) -> None:
        return None


def month_of_reports(seed: int, weeks: int, scale: int, end: datetime) -> list[dict]:
    from gridops.demo.city import generate_city
    from gridops.incidents.intake.duplicates import Candidate, matches
    from gridops.reference.data import CategoryRef

    reports = []
    for k in range(scale):
        city = generate_city(seed=seed + 1000 * k, end=end, weeks=weeks)
        cats = {c["code"]: CategoryRef(c["code"], c["name"], c["name_en"], c["group_code"], c["urgency"], c["time_limit_minutes"],
                                       c["working_time"], c["handler"], c["department_code"], c["dedupe_radius_m"],
                                       c["dedupe_window_hours"], True) for c in city.manifest["categories"]}
        # the city no longer decides its duplicates (intake does, when it is loaded): the same matcher here, against
        # every earlier report of the month in the window (whether it is still open is the simulation's to find out)
        kept: list[Candidate] = []
        for i in sorted(city.incidents, key=lambda i: (i["reported_at"], i["ref"])):
            at = datetime.fromisoformat(i["reported_at"].replace("Z", "+00:00"))
            if matches(kept, cats[i["category"]], i["lon"], i["lat"], at):
                continue
            kept.append(Candidate(len(kept) + 1, i["category"], at, i["lon"], i["lat"], None, "grid", None, at))
            reports.append(i)
    return sorted(reports, key=lambda i: (i["reported_at"], i["ref"]))


def prepare_database(seed: int) -> tuple[str, Path]:
    from gridops.demo.city import DEFAULT_END, generate_city, write_city

    tmp = Path(tempfile.mkdtemp(prefix="gridops-sim-"))
    city_dir = tmp / "city"
    write_city(generate_city(seed=seed, end=DEFAULT_END, weeks=1), city_dir)
    url = f"sqlite:///{tmp / 'sim.sqlite'}"
    from gridops.core.config import load_config
    from gridops.core.db import Database
    from gridops.core.schema import upgrade
    from gridops.demo.loader import load_city

    db = Database(url)
    upgrade(db)
    with db.session() as session:
        load_city(session, city_dir, config=load_config({"DATABASE_URL": url}))
    db.dispose()
    return url, tmp


def simulate(policy: str, reports: list[dict], app, end: datetime) -> dict:
    from geoalchemy2.shape import to_shape
    from sqlalchemy import select

    from gridops.core.models import Worker

    db = app.extensions["gridops.db"]
    geocoder = app.extensions["gridops.geocoder"]
    layer = geocoder.primary_layer
    tz = app.config["TIMEZONE"]
    rng = np.random.default_rng(42)  # the same handling times for both rules
    with db.session() as session:
        ref = app.extensions["gridops.references"].current(session)
        homes = {wid: to_shape(pos) for wid, pos in session.execute(select(Worker.id, Worker.last_position)) if pos is not None}
        calendar = ref.calendar(tz)
        jobs: dict[int, Job] = {}
        for k, r in enumerate(reports):
            cat = ref.category(r["category"])
            from contextlib import nullcontext

            from gridops.boundaries.geocoder import LocationQuery

            answer, _ = geocoder.place(LocationQuery(x=float(r["lon"]), y=float(r["lat"])), lambda: nullcontext(session), session)
            codes = {lv: a["code"] for lv, a in answer["layers"][layer]["areas"].items()}
            reported = datetime.fromisoformat(r["reported_at"].replace("Z", "+00:00"))
            minutes = HANDLING.get(cat.group_code, 60) * math.exp(0.5 * rng.standard_normal())
            jobs[k] = Job(k, cat.code, cat.group_code, float(r["lon"]), float(r["lat"]), reported,
                          calendar.due(reported, cat.time_limit_minutes, cat.working_time), codes["grid"],
                          codes.get("community"), codes.get("street"), timedelta(minutes=minutes))
        workers = {wid: WorkerState(wid, p.x, p.y) for wid, p in homes.items()}
        for wid in ref.workers:
            workers.setdefault(wid, WorkerState(wid, 104.10, 30.62))
        open_counts: dict[int, int] = {}
        load = SimLoad(open_counts)
        positions = last_positions(session)

        def assign(job: Job, now: datetime, tier: str) -> None:
            cat = ref.category(job.category)
            ground = Ground(job.grid, job.community, job.street)
            if policy == "naive" and tier == "grid" and cat.handler == "grid":
                primary = ref.assigned(layer, [job.grid], ("primary",), now)
                chosen = Route(primary[0] if primary else None, "naive: the grid's own worker", "grid")
            else:
                chosen = route(ref, cat, ground, now, tz=tz, lon=job.lon, lat=job.lat, load=load, positions=positions,
                               layer=layer, tier=tier)
            if job.assignee is not None:
                open_counts[job.assignee] -= 1
                w = workers[job.assignee]
                w.queue = [(d, i) for d, i in w.queue if i != job.id]
                heapq.heapify(w.queue)
            job.assignee, job.tier, job.reason = chosen.worker_id, chosen.tier, chosen.reason
            job.own_team = chosen.worker_id in set(ref.assigned(layer, [job.grid], ("primary", "backup", "leader"), now))
            if chosen.worker_id is not None:
                open_counts[chosen.worker_id] = open_counts.get(chosen.worker_id, 0) + 1
                heapq.heappush(workers[chosen.worker_id].queue, (job.due, job.id))
                if job.on_shift_at is None and ref.on_shift([chosen.worker_id], now, tz):
                    job.on_shift_at = now

        t0 = min(j.reported for j in jobs.values()).replace(minute=0, second=0, microsecond=0)
        now, pending, next_sweep = t0, 0, t0 + timedelta(hours=1)
        order = sorted(jobs.values(), key=lambda j: j.reported)
        routed_ms = []
        while now <= end or any(w.current is not None for w in workers.values()):
            while pending < len(order) and order[pending].reported <= now:
                job = order[pending]
                t = time.perf_counter()
                assign(job, job.reported, "grid")
                routed_ms.append((time.perf_counter() - t) * 1000)
                pending += 1
            on = ref.on_shift(list(workers), now, tz)
            for w in workers.values():
                if w.current is not None and w.busy_until <= now:
                    job = jobs[w.current]
                    job.closed = w.busy_until + VERIFY
                    open_counts[w.id] -= 1
                    w.lon, w.lat, w.current, w.busy_until = job.lon, job.lat, None, None
                    w.handled += 1
                if w.id not in on:
                    continue
                for _, jid in w.queue:
                    if jobs[jid].on_shift_at is None:
                        jobs[jid].on_shift_at = now if now >= jobs[jid].reported else jobs[jid].reported
                if w.current is None and w.queue:
                    _, jid = heapq.heappop(w.queue)
                    job = jobs[jid]
                    walk = float(distances_m(w.lon, w.lat, job.lon, job.lat)[0]) * DETOUR / WALK_M_PER_S
                    job.started = now
                    w.current, w.busy_until = jid, now + timedelta(seconds=walk) + job.handling
                    w.busy += w.busy_until - now
            if now >= next_sweep:  # the sweeper: untouched and overdue climbs one tier
                for job in jobs.values():
                    if job.started is None and job.reported <= now and job.due < now and job.tier != LADDER[-1]:
                        if job.escalations == 0 or now - job.due >= timedelta(hours=job.escalations):
                            job.escalations += 1
                            assign(job, now, LADDER[min(LADDER.index(job.tier if job.tier in LADDER else "grid") + 1, len(LADDER) - 1)])
                next_sweep += timedelta(hours=1)
            now += STEP
            if now > end + timedelta(days=14):
                break
    return measure(policy, jobs, workers, ref, end, routed_ms)


def measure(policy: str, jobs: dict[int, Job], workers: dict[int, WorkerState], ref, end: datetime, routed_ms) -> dict:
    js = list(jobs.values())
    assign_min = np.array([((j.on_shift_at or end) - j.reported).total_seconds() / 60 for j in js])
    due_in = [j for j in js if j.due <= end]
    closed = [j for j in js if j.closed is not None]
    grid_team = [j for j in js if ref.category(j.category).handler == "grid"]
    grid_workers = [w for w in workers.values() if ref.workers[w.id].role == "grid_worker"]
    handled = np.array([w.handled for w in grid_workers], dtype=float)
    busy = np.array([w.busy.total_seconds() / 3600 for w in grid_workers])
    care = [j for j in js if j.group == "care"]

    def share(part, whole) -> float | None:
        return round(len(part) / len(whole), 4) if whole else None

    return {
        "rule": policy,
        "reports": len(js),
        "grid_team_reports": len(grid_team),
        "time_to_assign_min": {"median": round(float(np.median(assign_min)), 1), "p90": round(float(np.percentile(assign_min, 90)), 1),
                               "max": round(float(assign_min.max()), 1)},
        "grid_team_time_to_assign_min_p90": round(float(np.percentile([((j.on_shift_at or end) - j.reported).total_seconds() / 60
                                                                         for j in grid_team], 90)), 1) if grid_team else None,
        "closed_on_time": share([j for j in due_in if j.closed and j.closed <= j.due], due_in),
        "grid_team_closed_on_time": share([j for j in due_in if j in grid_team and j.closed and j.closed <= j.due],
                                          [j for j in due_in if j in grid_team]),
        "care_closed_within_limit": share([j for j in care if j.closed and j.closed <= j.due], care),
        "in_grid_resolution": share([j for j in closed if j in grid_team and j.tier in GRID_TIERS], [j for j in closed if j in grid_team]),
        "handled_by_own_grid_team": share([j for j in grid_team if j.own_team], grid_team),
        "escalated": share([j for j in js if j.escalations], js),
        "workload_tasks_cv": round(float(handled.std() / handled.mean()), 3) if handled.mean() else None,
        "workload_tasks_max_over_mean": round(float(handled.max() / handled.mean()), 2) if handled.mean() else None,
        "workload_busy_hours_cv": round(float(busy.std() / busy.mean()), 3) if busy.mean() else None,
        "routing_ms_p50": round(float(np.median(routed_ms)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    from gridops.demo.city import DEFAULT_END
    from gridops.web.app import create_app

    log("preparing: the demo city in a fresh SpatiaLite database")
    url, tmp = prepare_database(args.seed)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp / "instance"), "SWEEP_INTERVAL_SECONDS": 0})
    end = DEFAULT_END
    results = []
    for scale in args.scale:
        reports = month_of_reports(args.seed, args.weeks, scale, end)
        log(f"\n== {len(reports)} reports over {args.weeks} weeks (scale {scale}) ==")
        for policy in ("gridops", "naive"):
            t = time.perf_counter()
            r = simulate(policy, reports, app, end)
            r["scale"], r["seconds"] = scale, round(time.perf_counter() - t, 1)
            results.append(r)
        show([r for r in results if r["scale"] == scale])
    app.extensions["gridops.db"].dispose()
    (OUT / "simulate.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    log(f"\nwritten {OUT / 'simulate.json'}")


def show(pair: list[dict]) -> None:
    rows = [
        ("time to assign, median / p90 (min)", lambda r: f"{r['time_to_assign_min']['median']} / {r['time_to_assign_min']['p90']}"),
        ("grid-team reports, time to assign p90 (min)", lambda r: f"{r['grid_team_time_to_assign_min_p90']}"),
        ("closed on time (due in the month)", lambda r: f"{r['closed_on_time']:.1%}"),
        ("grid-team reports closed on time", lambda r: f"{r['grid_team_closed_on_time']:.1%}"),
        ("care / medical closed within 2 h",
         lambda r: f"{r['care_closed_within_limit']:.1%}" if r["care_closed_within_limit"] is not None else "-"),
        ("in-grid resolution 格内解决率", lambda r: f"{r['in_grid_resolution']:.1%}"),
        ("handled by the grid's own team", lambda r: f"{r['handled_by_own_grid_team']:.1%}"),
        ("escalated by the sweeper", lambda r: f"{r['escalated']:.1%}"),
        ("grid workers' tasks: CV, max/mean", lambda r: f"{r['workload_tasks_cv']}, {r['workload_tasks_max_over_mean']}"),
        ("grid workers' busy hours: CV", lambda r: f"{r['workload_busy_hours_cv']}"),
    ]
    log(f"   {'':48s} " + "  ".join(f"{r['rule']:>16s}" for r in pair))
    for label, fmt in rows:
        log(f"   {label:48s} " + "  ".join(f"{fmt(r):>16s}" for r in pair))


if __name__ == "__main__":
    main()
