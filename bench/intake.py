"""Intake under load: reports per second over HTTP, latency, and proof that nothing was lost or doubled.

    .venv/bin/python bench/intake.py [--seconds 30] [--clients 32] [--workers 3] [--dispatcher on|off|both]
                                     [--pg postgresql+psycopg://postgres@127.0.0.1/postgres] [--skip-embedded]

For each backend (PostGIS, the system of record; then the embedded SpatiaLite
default) it makes a fresh database with the demo city, adds resident users,
starts the production server (`gridops serve --workers N`: gunicorn, gthread)
and drives it with concurrent keep-alive clients, each posting reports like a
phone app does: a category, a position near a building, a description and an
Idempotency-Key. A share of the reports is sent twice with the same key, as a
phone does when the answer is lost on a bad connection.

At the end it counts, in the database, the reports of this run: every
acknowledged report must be stored exactly once (zero lost, zero doubled), and
every retry must have answered with the first answer's id.

With `--dispatcher both` each backend is run twice on fresh databases: without the message dispatcher
(GRIDOPS_NOTIFY_INTERVAL_SECONDS=0) and with it delivering every report's task message by SMS to a fake
gateway (its own process, tests/messages/fakes.py), and the ratio of the two rates is printed (issue 14:
within 10%).

The issue's target on this 2-core machine: >= 500 reports/s, p99 < 100 ms.
Load generator and server share the two cores; the figures include that.
Writes bench/out/intake.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
CITY = OUT / "demo-city"
GRIDOPS = str(Path(sys.executable).with_name("gridops"))
TARGET_RATE = 500.0
TARGET_P99_MS = 100.0


def log(msg: str) -> None:
    print(msg, flush=True)


def gridops(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run([GRIDOPS, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"gridops {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare(url: str, residents: int) -> list[str]:
    """A migrated database with the demo city and resident users; their tokens."""
    if not (CITY / "city.json").exists():
        gridops(url, "demo-city", "--seed", "7", "--out", str(CITY))
    gridops(url, "db", "upgrade")
    gridops(url, "load", str(CITY))
    return [gridops(url, "users", "add", f"bench-resident-{k}", "--role", "resident").split()[-1] for k in range(residents)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, workers: int, log_path: Path, extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, **(extra_env or {})}
    with log_path.open("w") as server_log:  # the access log goes too: it is part of the production setup
        proc = subprocess.Popen([GRIDOPS, "serve", "--port", str(port), "--workers", str(workers)], env=env,
                                stdout=server_log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc, port
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the server did not start")
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not answer within 90 s")


# --- where the CPU goes ---------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _procs() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command, CPU seconds so far), from /proc."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        out[int(entry.name)] = (int(fields[1]), comm, (int(fields[11]) + int(fields[12])) / TICK)
    return out


def cpu_split(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server (master and workers), PostgreSQL, and this load generator."""
    procs = _procs()
    tree, frontier = {server_pid}, [server_pid]
    while frontier:
        parent = frontier.pop()
        kids = [pid for pid, (ppid, _, _) in procs.items() if ppid == parent]
        tree.update(kids)
        frontier.extend(kids)
    return {
        "server": sum(procs[p][2] for p in tree if p in procs),
        "postgres": sum(cpu for _, comm, cpu in procs.values() if comm.startswith("postgres")),
        "load_generator": procs.get(os.getpid(), (0, "", 0.0))[2],
    }


# --- the reports --------------------------------------------------------------


def building_points() -> np.ndarray:
    """Where reports come from: the buildings' centres (residents report from home, or just outside)."""
    import shapely

    data = json.loads((CITY / "buildings.geojson").read_text(encoding="utf-8"))
    centres = shapely.centroid(shapely.from_geojson([json.dumps(f["geometry"]) for f in data["features"]]))
    return shapely.get_coordinates(centres)


def categories() -> list[str]:
    return [c["code"] for c in json.loads((CITY / "city.json").read_text(encoding="utf-8"))["categories"]]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)  # Idempotency-Key -> incident id
    statuses: dict[int, int] = field(default_factory=dict)
    merged: int = 0
    retries: int = 0
    retry_mismatch: int = 0
    errors: list[str] = field(default_factory=list)


class Connection:
    """One keep-alive HTTP/1.1 connection: a phone on the network, in miniature."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            try:
                self.writer.write(head.encode() + body)
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed by the server")
                status = int(status_line.split()[1])
                length, close = 0, False
                while True:
                    line = await self.reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "connection" and value.strip().lower() == "close":
                        close = True
                payload = await self.reader.readexactly(length)
                if close:
                    await self.close()
                return status, payload
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def client(k: int, port: int, tokens: list[str], points: np.ndarray, cats: list[str], run: str,
                 start: float, warm_until: float, stop_at: float, retry_share: float, tally: Tally) -> None:
    rnd = random.Random(k)
    conn = Connection(port)
    n = 0
    try:
        while time.perf_counter() < stop_at:
            n += 1
            lon, lat = points[rnd.randrange(len(points))]
            lon += rnd.uniform(-0.0002, 0.0002)
            lat += rnd.uniform(-0.0002, 0.0002)
            key = f"{run}-{k}-{n}"
            body = json.dumps({
                "category": rnd.choice(cats), "channel": "app", "lon": round(float(lon), 7), "lat": round(float(lat), 7),
                "description": f"bench {key}", "reporter_contact": f"139{rnd.randrange(10**8):08d}",
            }).encode()
            headers = {"Authorization": f"Bearer {tokens[k % len(tokens)]}", "Idempotency-Key": key}
            t0 = time.perf_counter()
            status, payload = await conn.post("/api/v1/incidents", body, headers)
            t1 = time.perf_counter()
            measured = t0 >= warm_until
            if measured:
                tally.latencies.append(t1 - t0)
                tally.statuses[status] = tally.statuses.get(status, 0) + 1
            if status != 201:
                if len(tally.errors) < 5:
                    tally.errors.append(f"{status}: {payload[:300].decode(errors='replace')}")
                continue
            answer = json.loads(payload)
            tally.acked[key] = answer["id"]
            if answer.get("merged_into") and measured:
                tally.merged += 1
            if rnd.random() < retry_share:  # the answer "was lost": the phone sends it again
                status2, payload2 = await conn.post("/api/v1/incidents", body, headers)
                tally.retries += 1
                if status2 != 201 or json.loads(payload2)["id"] != answer["id"]:
                    tally.retry_mismatch += 1
    finally:
        await conn.close()


async def drive(port: int, tokens: list[str], clients: int, seconds: float, warmup: float, retry_share: float,
                run: str) -> tuple[Tally, float]:
    points, cats = building_points(), categories()
    tally = Tally()
    start = time.perf_counter()
    warm_until, stop_at = start + warmup, start + warmup + seconds
    await asyncio.gather(*(client(k, port, tokens, points, cats, run, start, warm_until, stop_at, retry_share, tally)
                           for k in range(clients)))
    return tally, time.perf_counter() - warm_until


def audit(url: str, run: str, tally: Tally) -> dict[str, int]:
    """What the database holds of this run, against what was acknowledged."""
    from sqlalchemy import func, select

    from gridops.core.db import Database
    from gridops.core.models import Incident, IncidentEvent

    db = Database(url)
    try:
        with db.session() as session:
            rows = session.execute(
                select(Incident.id, Incident.description).where(Incident.description.like(f"bench {run}-%"))
            ).all()
            # a batch's reports share one transaction time: distinct times = transactions
            transactions = session.scalar(
                select(func.count(func.distinct(Incident.reported_at))).where(Incident.description.like(f"bench {run}-%"))
            )
            first_events = session.scalar(
                select(func.count(IncidentEvent.id)).join(Incident, Incident.id == IncidentEvent.incident_id)
                .where(Incident.description.like(f"bench {run}-%"), IncidentEvent.seq == 1)
            )
    finally:
        db.dispose()
    stored: dict[str, list[int]] = {}
    for iid, desc in rows:
        stored.setdefault(desc.removeprefix("bench "), []).append(iid)
    lost = sum(1 for key, iid in tally.acked.items() if stored.get(key) != [iid])
    doubled = sum(len(ids) - 1 for ids in stored.values() if len(ids) > 1)
    return {"acknowledged": len(tally.acked), "stored": len(rows), "first_events": first_events or 0,
            "lost": lost, "doubled": doubled, "transactions": transactions or 0,
            "unacknowledged_stored": len(set(stored) - set(tally.acked))}


SMS_GATEWAY = (
    "import sys, time; from tests.messages.fakes import http_sms; gw = http_sms(); print(gw.url, flush=True)\n"
    "while sys.stdin.read(1): pass\n"
    "print(len(gw.received), flush=True)"
)


def sms_gateway() -> tuple[subprocess.Popen, str]:
    """The fake SMS gateway in a process of its own (its CPU is not the load generator's); stops at stdin's end."""
    proc = subprocess.Popen([sys.executable, "-c", SMS_GATEWAY], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def delivered(gateway: subprocess.Popen) -> int:
    out, _ = gateway.communicate(timeout=30)
    return int(out.strip() or 0)


def run_backend(name: str, url: str, args, cleanup, dispatcher: bool = True) -> dict:
    log(f"\n== {name} ({'with' if dispatcher else 'without'} the message dispatcher): preparing {url}")
    tokens = prepare(url, residents=args.residents)
    gateway = None
    if dispatcher:
        gateway, gateway_url = sms_gateway()
        extra = {"GRIDOPS_SMS_GATEWAY": "http", "GRIDOPS_SMS_URL": gateway_url + "/send", "GRIDOPS_QUIET_HOURS": "off"}
    else:
        extra = {"GRIDOPS_NOTIFY_INTERVAL_SECONDS": "0"}
    proc, port = start_server(url, args.workers, OUT / f"intake-server-{name}.log", extra)
    run = uuid.uuid4().hex[:8]
    try:
        log(f"   {args.clients} clients, {args.workers} gunicorn workers, {args.warmup:g} s warm-up + {args.seconds:g} s measured")
        before = cpu_split(proc.pid)
        tally, elapsed = asyncio.run(drive(port, tokens, args.clients, args.seconds, args.warmup, args.retry_share, run))
        after = cpu_split(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    counts = audit(url, run, tally)
    messages = delivered(gateway) if gateway is not None else None
    cleanup()
    lat = np.asarray(tally.latencies) * 1000.0
    ok = tally.statuses.get(201, 0)
    result = {
        "backend": name, "dispatcher": dispatcher, "sms_delivered": messages,
        "clients": args.clients, "workers": args.workers, "seconds": round(elapsed, 2),
        "reports_per_s": round(ok / elapsed, 1), "p50_ms": round(float(np.percentile(lat, 50)), 2) if lat.size else None,
        "p99_ms": round(float(np.percentile(lat, 99)), 2) if lat.size else None, "statuses": tally.statuses,
        "merged_share": round(tally.merged / ok, 3) if ok else None, "retries": tally.retries,
        "retry_answers_differing": tally.retry_mismatch, **counts, "errors": tally.errors,
        # CPU ms per acknowledged report (warm-up included in both), by who spent it
        "cpu_ms_per_report": {k: round(1000 * (after[k] - before[k]) / max(len(tally.acked), 1), 2) for k in after},
    }
    log(f"   {result['reports_per_s']:,.1f} reports/s ({result['reports_per_s'] / TARGET_RATE:.2f}x the {TARGET_RATE:g}/s target); "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms (target < {TARGET_P99_MS:g} ms)")
    log(f"   statuses {tally.statuses}; {result['merged_share']:.0%} merged as duplicates; {tally.retries} retries, "
        f"{tally.retry_mismatch} answered differently")
    log(f"   audit: {counts['acknowledged']} acknowledged, {counts['stored']} stored, {counts['first_events']} first events; "
        f"lost {counts['lost']}, doubled {counts['doubled']}, stored but unacknowledged {counts['unacknowledged_stored']}; "
        f"{counts['stored'] / max(counts['transactions'], 1):.1f} reports per transaction")
    log("   CPU per report: " + ", ".join(f"{k} {v} ms" for k, v in result["cpu_ms_per_report"].items()))
    if messages is not None:
        log(f"   the dispatcher delivered {messages:,} task messages to the fake SMS gateway meanwhile")
    for e in tally.errors:
        log(f"   error: {e}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--residents", type=int, default=16)
    parser.add_argument("--retry-share", type=float, default=0.02)
    parser.add_argument("--pg", default=os.environ.get("GRIDOPS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--skip-postgis", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--dispatcher", choices=("on", "off", "both"), default="on",
                        help="run the message dispatcher beside the server (both: each backend twice, and the ratio)")
    args = parser.parse_args()
    modes = {"on": [True], "off": [False], "both": [False, True]}[args.dispatcher]
    OUT.mkdir(parents=True, exist_ok=True)
    results = []

    if not args.skip_postgis:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(make_url(args.pg), isolation_level="AUTOCOMMIT")
        name = f"gridops_bench_intake_{os.getpid()}"

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        try:
            for mode in modes:
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                pg_url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
                results.append(run_backend("postgis", pg_url, args, drop, dispatcher=mode))
        finally:
            drop()
            admin.dispose()

    if not args.skip_embedded:
        for mode in modes:
            with tempfile.TemporaryDirectory() as tmp:
                results.append(run_backend("spatialite", f"sqlite:///{tmp}/gridops.sqlite", args, lambda: None, dispatcher=mode))

    for backend in ("postgis", "spatialite"):
        pair = {r["dispatcher"]: r for r in results if r["backend"] == backend}
        if len(pair) == 2 and pair[False]["reports_per_s"]:
            ratio = pair[True]["reports_per_s"] / pair[False]["reports_per_s"]
            log(f"\n{backend}: intake with the dispatcher {pair[True]['reports_per_s']:,.1f}/s, without "
                f"{pair[False]['reports_per_s']:,.1f}/s: {ratio:.2f}x (issue 14: within 10%, i.e. >= 0.90x)")

    (OUT / "intake.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    log(f"\nwritten {OUT / 'intake.json'}")
    if any(r["lost"] or r["doubled"] or r["retry_answers_differing"] for r in results):
        raise SystemExit("FAILED: a report was lost or doubled")


if __name__ == "__main__":
    main()
