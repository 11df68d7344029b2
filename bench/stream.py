"""The live feed under thousands of open pages: event latency, the API beside it, memory per client.

    .venv/bin/python bench/stream.py [--clients 2000] [--workers 3] [--reports 60] [--interval 0.5]
                                     [--peer 5b8b9aa] [--peer-clients 2000] [--skip-peer]
                                     [--pg postgresql+psycopg://postgres@127.0.0.1/postgres]

On PostGIS with the demo city it starts the production server (`gridops serve --workers N`),
opens N concurrent Server-Sent-Events clients (command-centre tokens: every client hears every
report, the worst fan-out), then posts reports at a steady pace while probing `/healthz` and
`GET /api/v1/locate` ten times a second. It prints:

- event-to-client latency p50/p99: from the moment a report is sent to the moment each open
  client has read its event (so it includes the report's own request), and how many
  (client, report) pairs never arrived;
- `/healthz` and `/api/v1/locate` p99 during the load (the issue's target: < 50 ms), and how many
  probes timed out (5 s);
- memory per client: the growth of the server's proportional set size (PSS, master and workers)
  from before the clients opened to when all were open, divided by the clients.

The peer is the same measurement against the serving this replaced (gunicorn's gthread worker,
a thread per open stream), run from a checkout of `--peer` on the same data in the same run:
the "48 open pages freeze the API" of issue 12. Load generator, server and PostgreSQL share the
two cores; the figures include that. Bounded in count and time, loopback only.
Writes bench/out/stream.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing import Process, Queue
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.intake import CITY, GRIDOPS, OUT, building_points, cpu_split, free_port, gridops, log  # noqa: E402

TARGET_PROBE_P99_MS = 50.0
PROBE_TIMEOUT = 5.0
EVENT_ID = re.compile(rb'^data: \{"id": (\d+)', re.MULTILINE)
DEFAULT_PEER = "5b8b9aa"  # the last commit whose `serve --workers` held a thread per open stream (gthread)


def prepare(url: str, staff: int) -> tuple[list[str], str]:
    """A migrated database with the demo city; command-centre tokens for the clients, a resident's to report."""
    if not (CITY / "city.json").exists():
        gridops(url, "demo-city", "--seed", "7", "--out", str(CITY))
    gridops(url, "db", "upgrade")
    gridops(url, "load", str(CITY))
    tokens = [gridops(url, "users", "add", f"bench-staff-{k}", "--role", "command_centre").split()[-1] for k in range(staff)]
    return tokens, gridops(url, "users", "add", "bench-reporter", "--role", "resident").split()[-1]


def start_server(url: str, workers: int, log_path: Path, pythonpath: str | None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "GRIDOPS_SWEEP_INTERVAL_SECONDS": "0", "GRIDOPS_RATE_LIMITS": "false"}
    if pythonpath:  # the peer's code, ahead of this checkout's
        env["PYTHONPATH"] = pythonpath
    with log_path.open("w") as server_log:
        proc = subprocess.Popen([GRIDOPS, "serve", "--port", str(port), "--workers", str(workers)], env=env,
                                stdout=server_log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            status, _ = asyncio.run(request(port, "GET", "/healthz", timeout=2))
            if status == 200:
                return proc, port
        except (OSError, TimeoutError):
            pass
        if proc.poll() is not None:
            raise SystemExit(f"the server did not start; see {log_path}")
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not answer within 90 s")


def pss_kb(root_pid: int) -> int:
    """Proportional set size of the server: master and workers (shared pages counted once in all)."""
    pids, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError):
                    continue
                if ppid == parent and int(entry.name) not in pids:
                    pids.add(int(entry.name))
                    frontier.append(int(entry.name))
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


# --- HTTP, by hand: thousands of connections in one process --------------------------------------


async def request(port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"",
                  timeout: float = PROBE_TIMEOUT) -> tuple[int, bytes]:
    async def go() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()) + "\r\n"
            writer.write(head.encode() + body)
            status = int((await reader.readline()).split()[1])
            rest = await reader.read()  # the headers' remainder and the body (Connection: close)
            return status, rest.split(b"\r\n\r\n", 1)[-1]
        finally:
            writer.close()

    return await asyncio.wait_for(go(), timeout)


@dataclass
class Client:
    opened: bool = False
    heard: dict[int, float] = field(default_factory=dict)  # incident id -> when its event was read
    ended: bool = False


async def listen(port: int, token: str, client: Client, open_by: float, stop: asyncio.Event) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), max(0.1, open_by - time.monotonic()))
    except (OSError, TimeoutError):
        return
    try:
        writer.write(f"GET /api/v1/stream HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        status = await asyncio.wait_for(reader.readline(), max(0.1, open_by - time.monotonic()))
        if not status.startswith(b"HTTP/1.1 200"):
            return
        client.opened = True
        stopping = asyncio.ensure_future(stop.wait())
        tail = b""
        while not stop.is_set():
            # whole chunks, searched for event ids: a reader as cheap as it can be, so that 2,000 of them
            # in this one process measure the server rather than themselves
            reading = asyncio.ensure_future(reader.read(65536))
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                break
            chunk = reading.result()
            if not chunk:
                client.ended = True
                break
            now = time.perf_counter()
            text = tail + chunk
            cut = text.rfind(b"\n")
            tail = text[cut + 1:]
            for match in EVENT_ID.finditer(text, 0, cut + 1):
                client.heard.setdefault(int(match.group(1)), now)  # an incident's first event: its report
        stopping.cancel()
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        client.ended = True
    finally:
        writer.close()


def probe(port: int, token: str, points: np.ndarray, seconds: float, out: Queue) -> None:
    """In a process of its own, with blocking sockets: the readers' loop must not delay the probes."""
    import http.client

    k = 0
    found: dict[str, list[float | None]] = {"healthz": [], "locate": []}
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        lon, lat = points[k % len(points)]
        for name, path in (("healthz", "/healthz"), ("locate", f"/api/v1/locate?lon={lon:.6f}&lat={lat:.6f}")):
            t0 = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT)
                conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
                res = conn.getresponse()
                res.read()
                conn.close()
                found[name].append(time.perf_counter() - t0 if res.status == 200 else None)
            except (OSError, TimeoutError):
                found[name].append(None)
        k += 1
        time.sleep(0.1)
    out.put(found)


async def drive(port: int, tokens: list[str], reporter: str, args: argparse.Namespace, server_pid: int) -> dict:
    points = building_points()
    clients = [Client() for _ in range(args.clients)]
    stop = asyncio.Event()
    before_kb = pss_kb(server_pid)
    open_by = time.monotonic() + args.open_seconds
    listeners = []
    for k, client in enumerate(clients):  # a ramp, as pages open over a morning, compressed
        listeners.append(asyncio.create_task(listen(port, tokens[k % len(tokens)], client, open_by, stop)))
        if k % 100 == 99:
            await asyncio.sleep(0.05)
    while time.monotonic() < open_by and sum(c.opened for c in clients) < len(clients):
        await asyncio.sleep(0.2)
    opened = sum(c.opened for c in clients)
    await asyncio.sleep(1.0)
    after_kb = pss_kb(server_pid)
    log(f"   {opened} of {len(clients)} streams open; server PSS {before_kb / 1024:.0f} MB -> {after_kb / 1024:.0f} MB")

    results: Queue = Queue()
    prober = Process(target=probe, args=(port, tokens[0], points, args.reports * args.interval, results))
    prober.start()
    posting_until = time.monotonic() + args.reports * args.interval + 10  # bounded, even when nothing answers
    sent: dict[int, float] = {}
    run = uuid.uuid4().hex[:8]
    refused = 0
    for n in range(args.reports):
        if time.monotonic() > posting_until:
            refused += args.reports - n
            break
        lon, lat = points[(n * 7919) % len(points)]
        body = json.dumps({"category": "order.noise", "lon": round(float(lon), 7), "lat": round(float(lat), 7),
                           "description": f"stream bench {run}-{n}"}).encode()
        t0 = time.perf_counter()
        try:
            status, payload = await request(port, "POST", "/api/v1/incidents", {
                "Authorization": f"Bearer {reporter}", "Content-Type": "application/json"}, body)
        except (OSError, TimeoutError):
            status, payload = 0, b""
        if status == 201:
            sent[json.loads(payload)["id"]] = t0
        else:
            refused += 1
        await asyncio.sleep(max(0.0, args.interval - (time.perf_counter() - t0)))
    await asyncio.sleep(args.settle)
    stop.set()
    await asyncio.gather(*listeners, return_exceptions=True)
    probes = results.get(timeout=60)
    prober.join(10)

    waits = [heard[iid] - t0 for c in clients if c.opened for iid, t0 in sent.items() if (heard := c.heard).get(iid)]
    expected = opened * len(sent)
    lat = np.asarray(waits) * 1000.0

    def p99(name: str) -> tuple[float | None, int, int]:
        ok = np.asarray([v for v in probes[name] if v is not None]) * 1000.0
        failed = sum(v is None for v in probes[name])
        return (round(float(np.percentile(ok, 99)), 1) if ok.size else None), failed, len(probes[name])

    (h99, h_failed, h_n), (l99, l_failed, l_n) = p99("healthz"), p99("locate")
    return {
        "clients": len(clients), "opened": opened, "ended_early": sum(c.ended for c in clients),
        "reports_sent": args.reports, "reports_stored": len(sent), "reports_refused": refused,
        "event_p50_ms": round(float(np.percentile(lat, 50)), 1) if lat.size else None,
        "event_p99_ms": round(float(np.percentile(lat, 99)), 1) if lat.size else None,
        "events_expected": expected, "events_missing": expected - len(waits),
        "healthz_p99_ms": h99, "healthz_failed": h_failed, "healthz_probes": h_n,
        "locate_p99_ms": l99, "locate_failed": l_failed, "locate_probes": l_n,
        "pss_before_mb": round(before_kb / 1024, 1), "pss_open_mb": round(after_kb / 1024, 1),
        "kb_per_client": round((after_kb - before_kb) / opened, 1) if opened else None,
    }


def measure(name: str, url: str, args: argparse.Namespace, tokens: list[str], reporter: str, pythonpath: str | None) -> dict:
    log(f"\n== {name}: {args.workers} workers, {args.clients} clients, {args.reports} reports every {args.interval:g} s")
    proc, port = start_server(url, args.workers, OUT / f"stream-server-{name}.log", pythonpath)
    try:
        before = cpu_split(proc.pid)
        result = {"server": name, **asyncio.run(drive(port, tokens, reporter, args, proc.pid))}
        after = cpu_split(proc.pid)
        result["cpu_s"] = {k: round(after[k] - before[k], 1) for k in after}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    log(f"   event to client: p50 {result['event_p50_ms']} ms, p99 {result['event_p99_ms']} ms; "
        f"{result['events_missing']} of {result['events_expected']} (client, report) pairs never arrived; "
        f"{result['ended_early']} streams ended early")
    log(f"   /healthz p99 {result['healthz_p99_ms']} ms ({result['healthz_failed']} of {result['healthz_probes']} failed), "
        f"/api/v1/locate p99 {result['locate_p99_ms']} ms ({result['locate_failed']} of {result['locate_probes']} failed); "
        f"target < {TARGET_PROBE_P99_MS:g} ms")
    log(f"   memory: {result['kb_per_client']} KB per open client; CPU s: {result['cpu_s']}")
    return result


def peer_checkout(rev: str) -> Path:
    """The peer's code, in a detached worktree under bench/out (made once per revision)."""
    where = OUT / f"peer-{rev}"
    if not (where / "gridops").exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(where), rev], check=True,
                       capture_output=True)
    return where


def peer_head(checkout: Path) -> str:
    """The newest migration the peer's code knows: its schema check refuses a database ahead of it."""
    found = []
    for path in (checkout / "gridops" / "migrations" / "versions").glob("*.py"):
        m = re.search(r'^revision = "([^"]+)"', path.read_text(encoding="utf-8"), re.M)
        if m:
            found.append(m.group(1))
    return max(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--reports", type=int, default=60)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--open-seconds", type=float, default=40.0, help="how long the clients may take to open")
    parser.add_argument("--settle", type=float, default=5.0, help="how long to wait for the last events")
    parser.add_argument("--staff", type=int, default=20, help="distinct command-centre users among the clients")
    parser.add_argument("--peer", default=DEFAULT_PEER)
    parser.add_argument("--peer-clients", type=int, default=None, help="clients for the peer (default: --clients)")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--pg", default=os.environ.get("GRIDOPS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a socket per client, and the probes
    OUT.mkdir(parents=True, exist_ok=True)

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(args.pg), isolation_level="AUTOCOMMIT")
    base = f"gridops_bench_stream_{os.getpid()}"
    names = [base, f"{base}_peer"]
    url = make_url(args.pg).set(database=base).render_as_string(hide_password=False)
    results = []
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{base}"'))
        log(f"preparing {base}")
        tokens, reporter = prepare(url, args.staff)
        if not args.skip_peer:  # the same data for the peer: a copy made before either run
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{names[1]}" TEMPLATE "{base}"'))
        results.append(measure("gridops", url, args, tokens, reporter, None))
        if not args.skip_peer:
            peer_url = make_url(args.pg).set(database=names[1]).render_as_string(hide_password=False)
            checkout = peer_checkout(args.peer)
            # the later migrations only add tables and indexes the peer never reads: its schema check is told
            # the revision it knows, so both serve the very same data
            peer_db = create_engine(make_url(peer_url))
            with peer_db.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": peer_head(checkout)})
            peer_db.dispose()
            peer_args = argparse.Namespace(**{**vars(args), "clients": args.peer_clients or args.clients})
            results.append(measure(f"peer {args.peer} (gthread)", peer_url, peer_args, tokens, reporter, str(checkout)))
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    ours = results[0]
    worst = max(ours["healthz_p99_ms"] or 1e9, ours["locate_p99_ms"] or 1e9)
    log(f"\ngridops: event p99 {ours['event_p99_ms']} ms; /healthz p99 {ours['healthz_p99_ms']} ms and /api/v1/locate p99 "
        f"{ours['locate_p99_ms']} ms ({'meets' if worst < TARGET_PROBE_P99_MS else 'misses'} "
        f"the < {TARGET_PROBE_P99_MS:g} ms target) with {ours['opened']} streams open")
    if len(results) > 1:
        peer = results[1]
        log(f"peer:    {peer['opened']} of {peer['clients']} streams opened; /healthz {peer['healthz_failed']} of "
            f"{peer['healthz_probes']} probes failed (p99 of the rest {peer['healthz_p99_ms']} ms), locate "
            f"{peer['locate_failed']} of {peer['locate_probes']} failed")
        if peer["opened"]:
            log(f"open streams served: {ours['opened'] / peer['opened']:.1f}x the peer's")
    (OUT / "stream.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    log(f"\nwritten {OUT / 'stream.json'}")


if __name__ == "__main__":
    main()
