"""The demo city's weeks of history: the reports (background, hot spots, a storm), beside each the script of
steps a street office would take and when, and the patrol visits with their register of people. Apart from
the ground and the people because it is the part most often retuned; the scripts draw from their own
generator, so a change to how offices work never moves a report."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np

from gridops.geo.crs import LocalProjection, wgs84_to_gcj02
from gridops.geo.synth import SynthCity

from gridops.demo.catalogue import (
    ACTORS,
    CATEGORIES,
    CHANNEL_MIX,
    CHANNELS,
    DEFAULT_CHANNEL_MIX,
    DESCRIPTIONS,
    DISTRICT_CODE,
    HOURLY,
    PATROL_INTERVALS,
    RATINGS,
    SURNAMES,
    TZ,
    category_row,
)
from gridops.demo.model import DemoCity, Plan, iso, person_name, phone
from gridops.reference.calendar import WorkCalendar

# when reports happen: day offsets from the period's start -> local moments
AtTime = Callable[[np.ndarray], list[datetime]]


def add_incidents(
    city: DemoCity, synth: SynthCity, plan: Plan, proj: LocalProjection, rng: np.random.Generator,
    start: datetime, end: datetime, calendar: WorkCalendar, script_rng: np.random.Generator,
) -> None:
    """Every report from `start` up to the snapshot moment `end`, each with its script (from `script_rng`)."""
    households = np.array([s.households for s in synth.buildings], dtype=float)
    total_hh = households.sum()
    days = (end.date() - start.date()).days + 1
    weeks = days / 7.0
    metric_entrances = np.array([(s.entrance.x, s.entrance.y) for s in synth.buildings])
    reports: list[tuple[str, int, datetime, tuple[float, float] | None]] = []  # category, building, time, exact point

    def at_time(day_offset: np.ndarray) -> list[datetime]:
        hours = rng.choice(24, size=len(day_offset), p=HOURLY / HOURLY.sum())
        minutes = rng.integers(0, 60, size=len(day_offset))
        return [
            datetime.combine(start.date() + timedelta(days=int(d)), time(int(h), int(m)), TZ)
            for d, h, m in zip(day_offset, hours, minutes, strict=True)
        ]

    # background: reports in proportion to households, spread over the period
    for cat in CATEGORIES:
        count = int(rng.poisson(cat.rate * weeks * total_hh / 1000.0))
        bs = rng.choice(len(households), size=count, p=households / total_hh)
        for b, t in zip(bs, at_time(rng.integers(0, days, size=count)), strict=True):
            reports.append((cat.code, int(b), t, None))

    # hot spots: where hidden risks gather
    def near(center: tuple[float, float], sigma: float, count: int, weight_households: bool = True) -> np.ndarray:
        d2 = ((metric_entrances - np.asarray(center)) ** 2).sum(axis=1)
        w = np.exp(-d2 / (2 * sigma * sigma)) * (households + (0 if weight_households else 1) + 1e-9)
        return rng.choice(len(w), size=count, p=w / w.sum())

    lanes_blocks = [b for b, u in synth.block_use.items() if u == "lanes"] or list(synth.blocks)
    lanes_hh = {blk: sum(s.households for s in synth.buildings if s.block == blk) for blk in lanes_blocks}
    old_town = synth.blocks[max(lanes_hh, key=lambda blk: lanes_hh[blk])].centroid
    # e-bike charging in the old lanes, growing week by week (an intensifying hot spot)
    n = 70
    bs = near((old_town.x, old_town.y), 90.0, n)
    growth = rng.power(2.0, size=n)  # skewed towards the end of the period
    for b, t in zip(bs, at_time(np.minimum(days - 1, (growth * days).astype(int))), strict=True):
        reports.append(("hazard.ebike_charging", int(b), t, None))
    # noise and disputes around the busiest market (persistent)
    markets = [s for s in synth.buildings if s.use == "market"] or [s for s in synth.buildings if s.use != "residential"]
    market = markets[0].entrance if markets else old_town
    for code, count in (("order.noise", 55), ("dispute.neighbour", 25)):
        bs = near((market.x, market.y), 110.0, count)
        for b, t in zip(bs, at_time(rng.integers(0, days, size=count)), strict=True):
            reports.append((code, int(b), t, None))
    # a rainstorm: blocked drains in the low corner during two weeks mid-period (a sporadic burst)
    storm_day = max(0, days // 2 - 3)
    for road_point, t in _storm_points(synth, rng, 45, storm_day, days, at_time):
        d2 = ((metric_entrances - np.asarray(road_point)) ** 2).sum(axis=1)
        reports.append(("hazard.blocked_drain", int(d2.argmin()), t, road_point))

    reports.sort(key=lambda r: (r[2], r[0], r[1]))
    cats = {c.code: category_row(c) for c in CATEGORIES}
    for seq, (code, b, reported, exact) in enumerate(reports, start=1):
        if reported > end:
            continue  # not yet reported at the snapshot moment
        category = cats[code]
        if exact is not None:
            # on the street itself; some right on the centre line (a grid boundary)
            offset = 0.0 if rng.random() < 0.15 else rng.normal(0, 3.0)
            mx, my = exact[0], exact[1] + offset
        else:
            mx, my = metric_entrances[b] + rng.normal(0, 6.0, size=2)
        lon, lat = proj.xy_to_wgs84(np.array([mx]), np.array([my]))
        point = (round(float(lon[0]), 7), round(float(lat[0]), 7))
        placed = plan.grid_index.locate(np.array([point[0]]), np.array([point[1]]))
        if placed.index[0] < 0:
            continue  # a storm report on the outer road beyond the snap distance
        grid = plan.grid_index.codes[int(placed.index[0])]
        incident = _report(city, category, f"INC-{seq:06d}", reported, point, b, plan, rng, grid)
        _script(city, incident, category, reported, calendar, script_rng, end)
        city.incidents.append(incident)


def _storm_points(synth: SynthCity, rng: np.random.Generator, count: int, first_day: int, days: int,
                  at_time: AtTime) -> Iterator[tuple[tuple[float, float], datetime]]:
    """Where and when the storm's drains block: on the road segments near the district's low corner."""
    cx, cy = synth.low_corner
    segments = [line for line, _, _, _ in synth.roads]
    mids = np.array([(line.centroid.x, line.centroid.y) for line in segments])
    d2 = ((mids - np.array([cx, cy])) ** 2).sum(axis=1)
    w = np.exp(-d2 / (2 * 200.0**2))
    picks = rng.choice(len(segments), size=count, p=w / w.sum())
    day_offsets = np.minimum(days - 1, first_day + rng.integers(0, 14, size=count))
    times = at_time(day_offsets)
    for k, t in zip(picks, times, strict=True):
        p = segments[k].interpolate(float(rng.uniform(0.1, 0.9)), normalized=True)
        yield (p.x, p.y), t


def _report(city: DemoCity, cat: dict[str, Any], ref: str, reported: datetime, point: tuple[float, float], b: int,
            plan: Plan, rng: np.random.Generator, grid: str) -> dict[str, Any]:
    """One report as it comes in, by its channel: coordinates (GCJ-02 from a phone), a door's code, an
    address on the hotline, or a grid worker on patrol."""
    mix = CHANNEL_MIX.get(cat["code"], DEFAULT_CHANNEL_MIX)
    channel = str(rng.choice(CHANNELS, p=np.asarray(mix) / sum(mix)))
    building = city.buildings[b]
    household = None
    rows = plan.households_by_building.get(b) or []
    incident = {
        "ref": ref, "category": cat["code"], "channel": channel,
        "description": str(rng.choice(DESCRIPTIONS[cat["code"]])),
        "reported_at": iso(reported), "lon": point[0], "lat": point[1],
        "original_x": point[0], "original_y": point[1], "original_crs": "wgs84",
        "address_text": None, "building_code": None, "household_code": None,
        "reporter_name": f"{rng.choice(list(SURNAMES))}{rng.choice(['先生', '女士'])}",
        "reporter_contact": phone(rng), "grid_code": grid,
        "site": point,  # where whoever handles it goes (not written: the script carries it)
    }
    if channel in ("app", "photo"):  # phones on WeChat/AMap report GCJ-02
        gx, gy = wgs84_to_gcj02(point[0], point[1])
        incident.update(original_x=round(float(gx), 7), original_y=round(float(gy), 7), original_crs="gcj02")
    elif channel == "qr" and rows:
        household = rows[int(rng.integers(len(rows)))]
        incident.update(household_code=household["code"], building_code=building["code"])
        incident["site"] = (building["entrance_lon"], building["entrance_lat"])  # placed at the door it names
    elif channel == "hotline":
        incident.update(address_text=building["address"], building_code=building["code"], reporter_name=None)
        incident["site"] = (building["entrance_lon"], building["entrance_lat"])
    elif channel == "patrol":
        incident.update(reporter_name=None, reporter_contact=None, reporter_worker=plan.grid_worker[grid])
    return incident


class _Script:
    """One report's scripted steps, in time order, dropping those after the snapshot moment."""

    def __init__(self, city: DemoCity, incident: dict[str, Any], snapshot: datetime) -> None:
        self.city, self.incident, self.snapshot = city, incident, snapshot
        self.n = 0
        self.last = datetime.fromisoformat(incident["reported_at"].replace("Z", "+00:00"))
        self.ended = False

    def add(self, at: datetime, action: str, actor: str, note: str | None = None, point: tuple[float, float] | None = None,
            rating: int | None = None) -> bool:
        """Append a step (never before the one it follows); False once the snapshot moment is passed."""
        assert actor in ACTORS  # the callers below name only these kinds
        at = max(at, self.last + timedelta(minutes=1)).replace(microsecond=0)
        if self.ended or at > self.snapshot:
            self.ended = True
            return False
        self.n += 1
        self.city.steps.append({
            "incident_ref": self.incident["ref"], "step": self.n, "at": iso(at), "action": action, "actor": actor,
            "note": note, "lon": point[0] if point else None, "lat": point[1] if point else None, "rating": rating,
        })
        self.last = at
        return True


# a field worker's and a grid leader's day (local time); the command centre works round the clock
_DAY_STARTS, _DAY_ENDS = time(8, 30), time(17, 30)


def _on_duty(t: datetime, rng: np.random.Generator, urgent: bool) -> datetime:
    """When someone on a day shift would take a step planned for `t`: then, or the next morning
    (a critical request is handled at once, whoever is on duty)."""
    local = t.astimezone(TZ)
    if urgent or _DAY_STARTS <= local.time() < _DAY_ENDS:
        return t
    day = local.date() + timedelta(days=1 if local.time() >= _DAY_ENDS else 0)
    return datetime.combine(day, _DAY_STARTS, TZ) + timedelta(minutes=float(rng.uniform(0, 60)))


def _script(city: DemoCity, incident: dict[str, Any], cat: dict[str, Any], reported: datetime, calendar: WorkCalendar,
            rng: np.random.Generator, snapshot: datetime) -> None:
    """What a street office would do with a report, and when, as far as the snapshot moment.

    Who takes each step is a kind (ACTORS), resolved against the live state when the city is loaded: real
    routing decides who holds it, and a report intake merges into an open one has no steps of its own to
    take (the loader plays only what the loop allows). The draws are the same whatever happens at load time,
    so one seed gives one script."""
    s = _Script(city, incident, snapshot)
    due = calendar.due(reported, cat["time_limit_minutes"], cat["working_time"])
    limit = due - reported
    critical = cat["urgency"] == "critical"
    grid_team = cat["handler"] == "grid"
    site = incident["site"]

    def later(minutes: float, by_day_shift: bool = False) -> datetime:
        t = s.last + timedelta(minutes=minutes)
        return _on_duty(t, rng, critical) if by_day_shift else t

    if incident["channel"] == "patrol":
        # a grid worker on patrol reports what they found and takes it on the spot (接单)
        if not s.add(later(float(rng.uniform(1, 10))), "take", "assignee", "巡查发现，接单处置"):
            return
    else:
        if not s.add(later(float(rng.uniform(2, 25))), "accept", "centre", "受理"):
            return
        if not s.add(later(float(rng.uniform(5, 40))), "assess", "centre", f"研判：{cat['name']}，{cat['urgency']}"):
            return
        if grid_team and rng.random() < 0.03:
            # the worker it went to says, on their shift, that it is not theirs (退单); routing finds the next one
            if not s.add(later(float(rng.uniform(5, 60)), True), "reject", "assignee", "不在本人职责范围，退单"):
                return
        if not s.add(later(float(rng.uniform(3, 20))), "dispatch", "centre", "派遣处置"):
            return
    go = min(limit.total_seconds() / 60 * 0.2, float(rng.lognormal(math.log(40), 0.6)))
    if not s.add(later(go, True), "check_in", "assignee", "到场签到", site):
        return
    if grid_team and rng.random() < 0.08:
        # "小事不出网格、大事不出社区": the grid cannot solve it, it goes one rung up (and now and then one more)
        for rung, note in enumerate(("网格内无法解决，上报网格长", "网格长协调未果，上报社区")):
            if rung and rng.random() >= 0.3:
                break
            if not s.add(later(float(rng.uniform(30, 240)), True), "escalate", "assignee", note):
                return
            if not s.add(later(float(rng.uniform(10, 60))), "dispatch", "centre", "升级后派遣"):
                return
            if not s.add(later(float(rng.uniform(20, 120)), True), "check_in", "assignee", "到场签到", site):
                return
    # most are resolved within the limit; some run over, and the command centre chases them (督办)
    fraction = float(rng.lognormal(math.log(0.45), 0.55))
    resolve_at = _on_duty(max(s.last + timedelta(minutes=10), reported + limit * fraction), rng, critical)
    chase = due + timedelta(minutes=float(rng.uniform(5, 90)))
    if chase < resolve_at and not s.add(chase, "supervise", "centre", "逾期督办，请尽快处置"):
        return
    if not s.add(resolve_at, "resolve", "assignee", "已处置完毕", site):
        return
    if rng.random() < 0.07:
        if not s.add(later(float(rng.uniform(0.5, 10)) * 60, True), "return", "leader", "核查未通过，退回重办", site):
            return
        if not s.add(later(float(rng.uniform(0.5, 4)) * 60, True), "check_in", "assignee", "重新到场", site):
            return
        if not s.add(later(float(rng.uniform(1, 12)) * 60, True), "resolve", "assignee", "整改完成", site):
            return
    if not s.add(later(float(rng.uniform(0.5, 10)) * 60, True), "verify", "leader", "核查通过", site):
        return
    if not s.add(later(float(rng.uniform(5, 60))), "close", "centre", "结案"):
        return
    if rng.random() < 0.75:
        rating = int(rng.choice([5, 4, 3, 2, 1], p=[0.55, 0.28, 0.09, 0.05, 0.03]))
        if not s.add(later(float(rng.uniform(6, 72)) * 60), "rate", "centre", f"回访：{RATINGS[rating]}", rating=rating):
            return
        if rating <= 2:  # the loop reopens it to its handler (返工): done again, checked again, called again
            for action, actor, note, hours in (("check_in", "assignee", "回访不满意，重新到场", (1, 24)),
                                               ("resolve", "assignee", "按居民意见整改完成", (1, 24)),
                                               ("verify", "leader", "复核通过", (0.5, 8)), ("close", "centre", "结案", (0.1, 1))):
                if not s.add(later(float(rng.uniform(*hours)) * 60, True), action, actor, note,
                             site if actor == "assignee" else None):
                    return
            again = int(rng.choice([5, 4, 3], p=[0.5, 0.35, 0.15]))
            s.add(later(float(rng.uniform(6, 72)) * 60), "rate", "centre", f"再次回访：{RATINGS[again]}", rating=again)


def add_patrol_visits(city: DemoCity, plan: Plan, rng: np.random.Generator, snapshot: datetime) -> None:
    """Weekly visits to elderly people living alone: last week's done, next week's scheduled."""
    by_code = {h["code"]: h for h in city.households}
    building_index = {code: i for i, code in enumerate(plan.building_codes)}
    today = snapshot.astimezone(TZ).date()
    for h in by_code.values():
        if "elderly_alone" not in h["tags"].split(";"):
            continue
        b = building_index[h["building_code"]]
        grid = plan.building_grid[b]
        worker = plan.grid_worker[grid]
        lon, lat = plan.building_point[b]
        for week in (-1, 0):
            day = today + timedelta(days=int(rng.integers(1, 7)) + 7 * week)
            scheduled = datetime.combine(day, time(int(rng.integers(9, 17)), 0), TZ)
            done = scheduled < snapshot
            city.tasks.append({
                "kind": "patrol", "title": f"走访独居老人 {h['code']}", "status": "done" if done else "open",
                "worker_code": worker, "area_code": grid, "building_code": h["building_code"],
                "household_code": h["code"], "lon": lon, "lat": lat, "scheduled_for": iso(scheduled),
                "due_at": iso(scheduled + timedelta(days=1)),
                "completed_at": iso(scheduled + timedelta(minutes=float(rng.uniform(15, 50)))) if done else None,
            })


def add_patrol_register(city: DemoCity, rng: np.random.Generator, registered: datetime) -> None:
    """Who needs visits: every household tagged elderly-alone or disabled, with the person, their phone and
    ID number (all fictional), and the last visit of the history."""
    last_visit: dict[str, str] = {}
    for t in city.tasks:
        if t["kind"] == "patrol" and t["completed_at"]:
            last_visit[t["household_code"]] = max(last_visit.get(t["household_code"], ""), t["completed_at"])
    for h in city.households:
        for kind in h["tags"].split(";"):
            if kind not in PATROL_INTERVALS:
                continue
            born = date(int(rng.integers(1930, 1956)) if kind == "elderly_alone" else int(rng.integers(1950, 2005)),
                        int(rng.integers(1, 13)), int(rng.integers(1, 29)))
            city.patrols.append({
                "household_code": h["code"], "building_code": h["building_code"], "kind": kind, "person": person_name(rng),
                "phone": phone(rng), "id_number": _id_number(DISTRICT_CODE, born, int(rng.integers(0, 1000))),
                "interval_days": PATROL_INTERVALS[kind], "registered_at": iso(registered),
                "last_visit_at": last_visit.get(h["code"]),
            })


def _id_number(region: str, born: date, sequence: int) -> str:
    """An 18-digit resident ID (居民身份证号) with a valid GB 11643 check digit: fictional but well-formed."""
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
