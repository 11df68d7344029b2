"""Messages under failure: 10,000 notifications through fake gateways that fail, hang and throttle, two
dispatchers, one of them killed with SIGKILL twice mid-run — and a count of what arrived.

    .venv/bin/python bench/notify.py [--messages 10000] [--rate 400] [--error-rate 0.05] [--hang-rate 0.003]
                                     [--throttle 300] [--sms aliyun|http] [--robot-messages 10]
                                     [--pg postgresql+psycopg://postgres@127.0.0.1/postgres] [--spatialite]

The notifications are written as the loop writes them (in transactions of 50, at `--rate` a second): half are
new tasks for 500 grid workers, who are reached on WeCom (企业微信 application messages, `message/send`), half
are "accepted" answers to residents' phone numbers, sent by SMS (Aliyun's signed SendSms, or the generic HTTP
gateway with `--sms http`); `--robot-messages` of them are escalations that two WeCom group robots and two
DingTalk robots (one with 加签) also post — few, because a robot takes 20 a minute. Two `gridops notify run`
processes deliver them to local fake gateways (tests/messages/fakes.py) that answer 500 to a share of the
messages, hang past the client's read timeout on a few (the message is taken, the answer lost: the dispatcher
sends it again), and throttle (429) above a rate. Dispatcher A is killed with SIGKILL at
30% and 60% of the messages written and started again each time; copies it held are taken by B (or the new A)
when their lease runs out.

Printed: throughput; latency from the notification's commit to its first arrival at the gateway (p50/p99);
lost (written, never arrived, not marked failed: must be 0); repeats per channel — dropped by the gateway
by the delivery key on a keyed channel, doubled for the person on a channel without one (counted); failed
(visible with their reason). Writes bench/out/notify.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
GRIDOPS = str(Path(sys.executable).with_name("gridops"))

from tests.messages.fakes import (  # noqa: E402  (the bench's gateways are the tests' fakes)
    FakeGateway,
    Faults,
    Received,
    aliyun_sms,
    dingtalk,
    http_sms,
    wecom,
    wecom_robot,
)

WORKERS = [f"B{n:04d}" for n in range(500)]  # the grid workers, each a WeCom member under their 工号
ROBOTS = [("wecom_robot", "企业微信群·新桥", "/cgi-bin/webhook/send?key=robot-key-1", None),
          ("wecom_robot", "企业微信群·城西", "/cgi-bin/webhook/send?key=robot-key-2", None),
          ("dingtalk", "钉钉群·指挥中心", "/robot/send?access_token=ding-token-1", "SECtest-secret"),
          ("dingtalk", "钉钉群·值班", "/robot/send?access_token=ding-token-2", None)]
SMS_TEMPLATES = "accepted=SMS_1001,assigned=SMS_1002,escalated=SMS_1002"
_NUMBER = re.compile(r"#(\d+)")


def log(msg: str) -> None:
    print(msg, flush=True)


@dataclass
class Lane:
    """One channel under test: its gateway, the settings that point a dispatcher at it, whether it drops a repeat
    by its delivery key, and how a message it received names its copy (its delivery key)."""

    channel: str
    gateway: FakeGateway
    settings: dict[str, str]
    keyed: bool
    key_of: Callable[[Received], str | None]


def lanes(faults: Callable[[], Faults], sms: str, robot_ids: dict[str, int], note_of: Callable[[int], int | None]) -> list[Lane]:
    """The gateways: `robot_ids` maps a robot's webhook path to its row, `note_of` an incident number to its
    notification (WeCom and the robots carry no key of ours: their copy is found from the message's text)."""

    def by_number(suffix: Callable[[Received], str | None]) -> Callable[[Received], str | None]:
        def key_of(got: Received) -> str | None:
            found = _NUMBER.search(json.dumps(got.body, ensure_ascii=False))
            note = note_of(int(found.group(1))) if found else None
            tail = suffix(got)
            return f"gridops-{note}-{tail}" if note is not None and tail else None
        return key_of

    def robot(got: Received) -> str | None:
        query = "&".join(f"{k}={v[0]}" for k, v in got.query.items() if k in ("key", "access_token"))
        rid = robot_ids.get(f"{got.path}?{query}")
        return f"r{rid}" if rid is not None else None

    if sms == "aliyun":
        gw = aliyun_sms(faults())
        text = Lane("sms", gw, {"SMS_GATEWAY": "aliyun", "ALIYUN_ACCESS_KEY_ID": "LTAItest",
                                "ALIYUN_ACCESS_KEY_SECRET": "aliyun-secret", "ALIYUN_SMS_SIGN_NAME": "网格通",
                                "ALIYUN_SMS_URL": gw.url, "SMS_TEMPLATES": SMS_TEMPLATES},
                    keyed=False, key_of=lambda got: (got.body or {}).get("OutId"))
    else:
        gw = http_sms(faults())
        text = Lane("sms", gw, {"SMS_GATEWAY": "http", "SMS_URL": gw.url + "/send"}, keyed=True,
                    key_of=lambda got: (got.body or {}).get("id") if isinstance(got.body, dict) else None)
    app = wecom(faults(), users=frozenset(WORKERS))
    robots_wecom, robots_ding = wecom_robot(faults()), dingtalk(faults())
    return [text,
            Lane("wecom", app, {"WECOM_CORP_ID": "ww-corp", "WECOM_SECRET": "app-secret", "WECOM_AGENT_ID": "1000002",
                                "WECOM_API_URL": app.url}, keyed=True, key_of=by_number(lambda got: "wecom")),
            Lane("wecom_robot", robots_wecom, {}, keyed=False, key_of=by_number(robot)),
            Lane("dingtalk", robots_ding, {}, keyed=False, key_of=by_number(robot))]


def setup(url: str, gateways: dict[str, str]) -> dict[str, int]:
    """The bench city's people and group robots; the robots' webhook paths → their rows."""
    from gridops.core.db import Database
    from gridops.core.models import Robot, Worker

    db = Database(url)
    try:
        with db.session() as session:
            session.add_all([Worker(code=code, name=f"网格员{code}", role="grid_worker", active=True) for code in WORKERS])
            rows = [Robot(name=name, channel=channel, webhook=gateways[channel] + path, secret=secret, area_code=None,
                          kinds=["escalated"], active=True, created_at=datetime.now(UTC))
                    for channel, name, path, secret in ROBOTS]
            session.add_all(rows)
            session.flush()
            return {path: r.id for (_, _, path, _), r in zip(ROBOTS, rows, strict=True)}
    finally:
        db.dispose()


def dispatcher(url: str, lanes_: list[Lane], log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "GRIDOPS_QUIET_HOURS": "off", "GRIDOPS_MESSAGE_RETRY_SECONDS": "0.5",
           "GRIDOPS_MESSAGE_LEASE_SECONDS": "15", "GRIDOPS_MESSAGE_MAX_ATTEMPTS": "12"}
    for lane in lanes_:
        env.update({f"GRIDOPS_{k}": v for k, v in lane.settings.items()})
    with log_path.open("a") as out:
        return subprocess.Popen([GRIDOPS, "notify", "run", "--idle", "0.2"], env=env, stdout=out, stderr=subprocess.STDOUT)


def produce(url: str, total: int, rate: float, robot_messages: int, written: list[int]) -> None:
    """The loop's side: notifications committed in transactions of 50, at `rate` a second — a new task for a
    worker (WeCom), an "accepted" for a resident's phone (SMS), and now and then an escalation the robots post."""
    from sqlalchemy import select

    from gridops.core.db import Database
    from gridops.core.models import Worker
    from gridops.messages.outbox import enqueue

    db = Database(url)
    every = max(total // max(robot_messages, 1), 1) if robot_messages else 0
    with db.session() as session:
        workers = list(session.scalars(select(Worker.id).where(Worker.code.in_(WORKERS)).order_by(Worker.code)))
    start = time.perf_counter()
    try:
        for first in range(0, total, 50):
            with db.session() as session:
                at = datetime.now(UTC)
                for n in range(first, min(first + 50, total)):
                    fields = {"incident": n, "category": "楼道堆物", "address": f"新桥路{n % 300}号", "due": "12月3日 17:30",
                              "link": f"https://g.example/f/{n}"}
                    if every and n % every == every // 2:
                        enqueue(session, "escalated", at=at, worker_id=workers[n % len(workers)],
                                data={**fields, "from_tier": "网格", "to_tier": "社区", "reason": "网格内无法解决"})
                    elif n % 2:
                        enqueue(session, "accepted", at=at, phone=f"139{n:08d}", data=fields)
                    else:
                        enqueue(session, "assigned", at=at, worker_id=workers[n % len(workers)],
                                data={**fields, "reason": "", "link": None})
            written[0] = min(first + 50, total)
            pause = start + written[0] / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
    finally:
        db.dispose()


def settled(url: str) -> tuple[int, dict[str, int]]:
    from sqlalchemy import func, select

    from gridops.core.db import Database
    from gridops.core.models import Delivery, Notification

    db = Database(url)
    try:
        with db.session() as session:
            unfanned = session.scalar(select(func.count()).select_from(Notification).where(Notification.fanned_at.is_(None))) or 0
            statuses = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    finally:
        db.dispose()
    return unfanned, {str(k): int(v) for k, v in statuses.items()}


def numbers(url: str) -> dict[int, int]:
    """Each notification's incident number → its id (the bench gives every notification its own number)."""
    from sqlalchemy import select

    from gridops.core.db import Database
    from gridops.core.models import Notification

    db = Database(url)
    try:
        with db.session() as session:
            return {int((data or {})["incident"]): nid for nid, data in session.execute(select(Notification.id, Notification.data))}
    finally:
        db.dispose()


def audit(url: str, lanes_: list[Lane]) -> dict:
    from sqlalchemy import select

    from gridops.core.db import Database
    from gridops.core.models import Delivery, Notification

    db = Database(url)
    try:
        with db.session() as session:
            rows = session.execute(select(Delivery.key, Delivery.channel, Delivery.status, Delivery.error, Delivery.attempts,
                                          Notification.created_at)
                                   .join(Notification, Notification.id == Delivery.notification_id)).all()
            notifications = len(session.scalars(select(Notification.id)).all())
    finally:
        db.dispose()
    result: dict = {"notifications": notifications, "copies": len(rows), "channels": {}}
    latencies: list[float] = []
    for lane in lanes_:
        first_at: dict[str, float] = {}
        came: Counter[str] = Counter()
        for got in list(lane.gateway.received):
            key = lane.key_of(got)
            if key:
                came[key] += 1
                first_at.setdefault(key, got.at)
        mine = [r for r in rows if r.channel == lane.channel]
        arrived = [r for r in mine if r.key in first_at]
        failed = [r for r in mine if r.status == "failed"]
        lost = [r for r in mine if r.key not in first_at and r.status != "failed"]
        # a keyed gateway dropped the repeats (it counts them); one that is not keyed showed them to the person
        repeats = lane.gateway.repeats if lane.keyed else sum(n - 1 for n in came.values())
        latencies += [first_at[r.key] - r.created_at.timestamp() for r in arrived]
        result["channels"][lane.channel] = {
            "keyed": lane.keyed, "copies": len(mine), "arrived": len(arrived), "lost": len(lost),
            "failed_visible": sum(1 for r in failed if r.error), "failed": len(failed),
            "repeats_dropped_by_key" if lane.keyed else "doubled": repeats,
            "tries": int(sum(r.attempts for r in mine)),
            "failed_reasons": sorted({(r.error or "")[:80] for r in failed})[:3],
            "lost_keys": sorted(r.key for r in lost)[:5],
        }
    lat = np.asarray(latencies) * 1000.0
    result["latency_p50_ms"] = round(float(np.percentile(lat, 50)), 1) if lat.size else None
    result["latency_p99_ms"] = round(float(np.percentile(lat, 99)), 1) if lat.size else None
    result["lost"] = sum(c["lost"] for c in result["channels"].values()) + (notifications - len({r.key.split("-")[1] for r in rows}))
    return result


def run(name: str, url: str, args) -> dict:
    log(f"\n== {name}: {args.messages:,} notifications at {args.rate:g}/s; gateways fail {args.error_rate:.0%}, "
        f"hang {args.hang_rate:.1%} past the read timeout, throttle above {args.throttle:g}/s")
    done = subprocess.run([GRIDOPS, "db", "upgrade"], env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stdout + done.stderr)
    seeds = iter(range(7, 100))

    def faults() -> Faults:  # each gateway fails on its own dice
        return Faults(error_rate=args.error_rate, hang_rate=args.hang_rate, hang_seconds=12.0, per_second=args.throttle,
                      seed=next(seeds))

    known: dict[int, int] = {}

    def note_of(number: int) -> int | None:
        if number not in known:
            known.update(numbers(url))
        return known.get(number)

    robot_ids: dict[str, int] = {}  # filled once the robots are rows, before a message is sent
    lanes_ = lanes(faults, args.sms, robot_ids, note_of)
    robot_ids.update(setup(url, {lane.channel: lane.gateway.url for lane in lanes_}))
    log_path = OUT / f"notify-dispatchers-{name}.log"
    log_path.write_text("")
    a, b = dispatcher(url, lanes_, log_path), dispatcher(url, lanes_, log_path)
    written = [0]
    producer = threading.Thread(target=produce, args=(url, args.messages, args.rate, args.robot_messages, written))
    t0 = time.perf_counter()
    producer.start()
    kills = 0
    try:
        for share in (0.3, 0.6):
            while written[0] < share * args.messages:
                time.sleep(0.05)
            a.send_signal(signal.SIGKILL)
            a.wait()
            kills += 1
            log(f"   dispatcher A killed (SIGKILL) at {written[0]:,} written; started again")
            a = dispatcher(url, lanes_, log_path)
        producer.join()
        deadline = time.perf_counter() + args.timeout
        while time.perf_counter() < deadline:
            unfanned, statuses = settled(url)
            if not unfanned and not statuses.get("queued"):
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - t0
    finally:
        for p in (a, b):
            p.send_signal(signal.SIGTERM)
        for p in (a, b):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    counts = audit(url, lanes_)
    for lane in lanes_:
        lane.gateway.close()
    _, statuses = settled(url)
    arrived = sum(c["arrived"] for c in counts["channels"].values())
    result = {"backend": name, "messages": args.messages, "seconds": round(elapsed, 1), "kills": kills,
              "throughput_per_s": round(arrived / elapsed, 1), "statuses": statuses, **counts}
    log(f"   {arrived:,} arrived in {elapsed:.1f} s: {result['throughput_per_s']:,.1f} messages/s "
        f"(written at {args.rate:g}/s); event to gateway p50 {counts['latency_p50_ms']} ms, p99 {counts['latency_p99_ms']} ms")
    for channel, c in counts["channels"].items():
        extra = (f"{c['repeats_dropped_by_key']} repeats dropped by the delivery key" if c["keyed"]
                 else f"{c['doubled']} doubled (no delivery key on this channel)")
        log(f"   {channel}: {c['copies']:,} copies, {c['arrived']:,} arrived, lost {c['lost']}, {extra}, "
            f"{c['failed']} failed ({c['failed_visible']} with their reason), {c['tries']:,} tries")
    log(f"   statuses {statuses}; lost {result['lost']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=400.0, help="notifications written per second")
    parser.add_argument("--error-rate", type=float, default=0.05)
    parser.add_argument("--hang-rate", type=float, default=0.003)
    parser.add_argument("--throttle", type=float, default=300.0, help="messages per second a gateway takes before 429")
    parser.add_argument("--sms", choices=("aliyun", "http"), default="aliyun", help="Aliyun's SendSms, or the generic gateway")
    parser.add_argument("--robot-messages", type=int, default=10, help="escalations each group robot posts (20 a minute)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the queue to drain")
    parser.add_argument("--pg", default=os.environ.get("GRIDOPS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--skip-postgis", action="store_true")
    parser.add_argument("--spatialite", action="store_true", help="also on the embedded backend (one file, two processes)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    if not args.skip_postgis:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(make_url(args.pg), isolation_level="AUTOCOMMIT")
        name = f"gridops_bench_notify_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            results.append(run("postgis", make_url(args.pg).set(database=name).render_as_string(hide_password=False), args))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    if args.spatialite:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run("spatialite", f"sqlite:///{tmp}/gridops.sqlite", args))
    (OUT / "notify.json").write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    log(f"\nwritten {OUT / 'notify.json'}")
    if any(r["lost"] for r in results):
        raise SystemExit("FAILED: a message was lost")


if __name__ == "__main__":
    main()
