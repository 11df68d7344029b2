"""Households import: a clerk's 10,000-row workbook through POST /api/v1/households/import, on both backends.

    .venv/bin/python bench/households.py [--rows 10000] [--pg postgresql+psycopg://postgres@127.0.0.1/postgres]
                                         [--skip-embedded]

For each backend it makes a fresh database with the demo city, writes a workbook of `--rows` new
households spread over the city's buildings (with the clerk's Chinese headers), and times the import
through the app (the Flask test client: parsing, every row checked, one transaction, the audit row).
It then imports the same file with one bad row in the middle and times the refusal, checking that
nothing was stored and the row is named.

The issue's target: under 30 s for 10,000 rows. The peer, measured in the same run on the same file:
openpyxl reading the workbook alone (read-only, values only) — the floor for any import of an .xlsx
in Python; the ratio says what checking and storing add to it. Writes bench/out/households.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
CITY = OUT / "demo-city"
GRIDOPS = str(Path(sys.executable).with_name("gridops"))
TARGET_S = 30.0
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def log(msg: str) -> None:
    print(msg, flush=True)


def gridops(url: str, *args: str) -> str:
    done = subprocess.run([GRIDOPS, *args], env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"gridops {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def workbook(buildings: list[str], rows: int, bad_at: int | None = None) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("户籍")
    sheet.append(["门牌码", "楼栋", "单元", "楼层", "房号", "人数"])
    for k in range(rows):
        b = buildings[k % len(buildings)]
        floor = 1 + (k // len(buildings)) % 18
        building = "NO-SUCH-BUILDING" if k == bad_at else b
        sheet.append([f"BENCH-{k:06d}", building, str(1 + k % 3), floor, f"{floor}{k % 4 + 1:02d}", 1 + k % 5])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_only(data: bytes) -> float:
    from openpyxl import load_workbook

    t = time.perf_counter()
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    n = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    assert n > 1
    return time.perf_counter() - t


def measure(name: str, url: str, rows: int, tmp: Path) -> dict:
    from sqlalchemy import func, select

    from gridops.access.users import add_user
    from gridops.core.models import Building, Household
    from gridops.web.app import create_app

    log(f"\n== {name}: preparing the demo city")
    if not (CITY / "city.json").exists():
        gridops(url, "demo-city", "--seed", "7", "--out", str(CITY))
    gridops(url, "db", "upgrade")
    gridops(url, "load", str(CITY))
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp / name)})
    db = app.extensions["gridops.db"]
    try:
        with db.session() as s:
            buildings = list(s.scalars(select(Building.code).order_by(Building.code)))
            _, token = add_user(s, "bench admin", "admin")
            before = s.scalar(select(func.count(Household.id)))
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": XLSX}
        good, bad = workbook(buildings, rows), workbook(buildings, rows, bad_at=rows // 2)
        floor = min(read_only(good) for _ in range(2))

        t = time.perf_counter()
        refused = client.post("/api/v1/households/import", data=bad, headers=headers)
        refused_s = time.perf_counter() - t
        assert refused.status_code == 422, refused.get_data(as_text=True)[:300]
        named = [r["row"] for r in refused.json["rows"]]
        with db.session() as s:
            after_bad = s.scalar(select(func.count(Household.id)))

        t = time.perf_counter()
        res = client.post("/api/v1/households/import", data=good, headers=headers)
        took = time.perf_counter() - t
        assert res.status_code == 200, res.get_data(as_text=True)[:300]
        with db.session() as s:
            stored = s.scalar(select(func.count(Household.id))) - before
    finally:
        db.dispose()
    result = {"backend": name, "rows": rows, "workbook_kb": round(len(good) / 1024), "import_s": round(took, 2),
              "stored": stored, "answer": res.json, "openpyxl_read_s": round(floor, 2), "ratio_to_read": round(took / floor, 1),
              "bad_file_refused_s": round(refused_s, 2), "bad_rows_named": named, "stored_by_bad_file": after_bad - before}
    log(f"   {rows:,} rows ({result['workbook_kb']} KB .xlsx): imported in {took:.2f} s "
        f"({'meets' if took < TARGET_S else 'MISSES'} the < {TARGET_S:g} s target); {stored:,} stored, answer {res.json}")
    log(f"   peer, openpyxl reading the same workbook alone: {floor:.2f} s -> the import is {took / floor:.1f}x the read")
    log(f"   the same file with one bad row (sheet row {rows // 2 + 2}): refused in {refused_s:.2f} s naming rows {named}; "
        f"{after_bad - before} stored")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1/postgres")
    parser.add_argument("--skip-embedded", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    results = []
    name = f"gridops_bench_households_{os.getpid()}"
    admin = create_engine(make_url(args.pg), isolation_level="AUTOCOMMIT")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
            results.append(measure("postgis", url, args.rows, Path(tmp)))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        if not args.skip_embedded:
            results.append(measure("spatialite", f"sqlite:///{Path(tmp) / 'bench.sqlite'}", args.rows, Path(tmp)))
    (OUT / "households.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    log(f"\nwritten {OUT / 'households.json'}")


if __name__ == "__main__":
    main()
