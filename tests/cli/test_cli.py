"""The `gridops` command as a planner or an operator runs it, in a real subprocess."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

GRIDOPS = shutil.which("gridops", path=str(Path(sys.executable).parent)) or "gridops"


def run(*args: str, url: str | None = None, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if url:
        environ["DATABASE_URL"] = url
    environ.update(env or {})
    return subprocess.run([GRIDOPS, *args], capture_output=True, text=True, env=environ, timeout=timeout)


def one_sentence_no_traceback(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("gridops: ")
    return lines[0]


@pytest.mark.parametrize(
    ("url", "env", "expected"),
    [
        ("mysql://root@localhost/gridops", {}, "not supported"),
        ("not a url at all", {}, "is not a database URL"),
        ("sqlite://", {}, "in-memory"),
        ("postgresql+psycopg://postgres@127.0.0.1:1/gridops", {}, "Cannot reach PostgreSQL at 127.0.0.1:1"),
        ("sqlite:///{tmp}/g.sqlite", {"SPATIALITE_LIBRARY_PATH": "/nonexistent/mod_spatialite"}, "SpatiaLite"),
    ],
)
def test_a_wrong_setup_is_one_clear_sentence(url, env, expected, tmp_path):
    for command in (["db", "check"], ["db", "upgrade"]):
        line = one_sentence_no_traceback(run(*command, url=url.format(tmp=tmp_path), env=env))
        assert expected in line


def test_a_missing_postgres_database_says_how_to_create_it(postgres):
    if postgres is None:
        pytest.skip("PostGIS server not reachable")
    url = postgres.url("gridops_does_not_exist")
    line = one_sentence_no_traceback(run("db", "check", url=url))
    assert "has no database 'gridops_does_not_exist'" in line and "createdb" in line


def test_upgrade_check_generate_load_on_a_fresh_database(empty_url, tmp_path):
    check = run("db", "check", url=empty_url)
    assert check.returncode == 1 and "run `gridops db upgrade`" in check.stdout
    up = run("db", "upgrade", url=empty_url)
    assert up.returncode == 0 and "schema upgraded empty" in up.stdout
    again = run("db", "upgrade", url=empty_url)
    assert again.returncode == 0 and "already at" in again.stdout
    check = run("db", "check", url=empty_url)
    assert check.returncode == 0
    assert ("SpatiaLite 5" in check.stdout) or ("PostGIS 3" in check.stdout)
    assert "schema:   current" in check.stdout

    city = tmp_path / "city"
    gen = run("demo-city", "--seed", "3", "--out", str(city), "--weeks", "2")
    assert gen.returncode == 0, gen.stderr
    assert "communities" in gen.stdout and (city / "areas.geojson").exists()
    load = run("load", str(city), url=empty_url)
    assert load.returncode == 0, load.stderr
    assert "areas" in load.stdout and "incidents" in load.stdout
    skip = run("load", str(city), "--if-empty", url=empty_url)
    assert skip.returncode == 0 and "nothing to do" in skip.stdout
    twice = run("load", str(city), url=empty_url)
    assert "already has boundaries" in one_sentence_no_traceback(twice)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("workers", [None, 2])
def test_serve_answers_http(demo_url, workers):
    port = _free_port()
    args = ["serve", "--port", str(port)] + (["--workers", str(workers)] if workers else [])
    environ = {**os.environ, "DATABASE_URL": demo_url, "GRIDOPS_SWEEP_INTERVAL_SECONDS": "0"}  # the shared demo stays as it is
    proc = subprocess.Popen([GRIDOPS, *args], env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as res:
                    assert res.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.3)
        for _ in range(4):  # several requests: with workers, more than one process answers
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/areas?level=grid&limit=3", timeout=5) as res:
                assert res.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_refuses_to_start_on_an_outdated_schema(empty_url):
    line = one_sentence_no_traceback(run("serve", "--port", str(_free_port()), url=empty_url, timeout=60))
    assert "gridops db upgrade" in line


SF_BLOCKS = Path(__file__).resolve().parents[3] / "shared" / "data" / "sf_crime_2012" / "SFCrime_blocks.geojson"


def test_grids_levels_check_import_export_misfit_and_locate(writable_demo_url, tmp_path):
    url = writable_demo_url
    levels = run("grids", "levels", url=url)
    assert levels.returncode == 0 and "micro_grid" in levels.stdout and "300–500" in levels.stdout

    exported = tmp_path / "grid.gpkg"
    out = run("grids", "export", "--format", "gpkg", "--out", str(exported), url=url)
    assert out.returncode == 0 and "wrote 497 areas" in out.stdout
    check = run("grids", "check", str(exported), url=url)
    assert check.returncode == 0 and "0 error(s)" in check.stdout
    refused = run("grids", "import", str(exported), url=url)
    assert refused.returncode == 1 and "nothing was stored" in refused.stderr and "Traceback" not in refused.stderr
    published = run("grids", "import", str(exported), "--accept-warnings", "--effective", "2027-01-01T00:00", url=url)
    assert published.returncode == 0 and "published grid version 2, effective 2026-12-31T16:00:00+00:00" in published.stdout

    misfit = run("grids", "misfit", "grid", "police", "--level-a", "grid", "--out", str(tmp_path / "misfit.csv"), url=url)
    assert misfit.returncode == 0 and "64 grid of grid" in misfit.stdout
    assert (tmp_path / "misfit.csv").read_text(encoding="utf-8").startswith("grid_code,police_code,area_share,household_share")

    points = tmp_path / "points.csv"
    points.write_text("id,lon,lat\n1,104.1,30.62\n2,104.3,30.62\n3,oops,30\n", encoding="utf-8")
    located = run("locate", str(points), "--out", str(tmp_path / "out.csv"), url=url)
    assert located.returncode == 0 and "1 inside, 1 invalid, 1 outside" in located.stdout
    rows = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("id,x,y,crs,lon,lat,status") and len(rows) == 4


def test_a_new_layer_with_its_own_level(writable_demo_url, tmp_path):
    """Census block groups of San Francisco as a layer of their own: defined, imported, located."""
    if not SF_BLOCKS.exists():
        pytest.skip("shared data not present")
    import json

    url = writable_demo_url
    as_is = one_sentence_no_traceback(run("grids", "check", str(SF_BLOCKS), "--layer", "census", url=url))
    assert "lacks the column(s) code, level" in as_is
    doc = json.loads(SF_BLOCKS.read_text(encoding="utf-8"))
    for f in doc["features"]:
        p = f["properties"]
        f["properties"] = {"code": p["GEO_ID"], "name": p["NAME"], "level": "block_group", "households": p["Population"]}
    converted = tmp_path / "sf.geojson"
    converted.write_text(json.dumps(doc), encoding="utf-8")
    unknown = run("grids", "check", str(converted), "--layer", "census", url=url)
    assert unknown.returncode == 1 and "unknown_level" in unknown.stdout
    assert "gridops grids add-level CODE" in unknown.stdout  # how to define a level of its own, said where it is needed
    added = run("grids", "add-level", "block_group", "--name", "Census block group", "--depth", "20", "--code-digits", "21", url=url)
    assert added.returncode == 0
    clash = run("grids", "add-level", "tract", "--name", "Tract", "--depth", "20", "--code-digits", "11", url=url)
    assert "depth 20 is level 'block_group'" in one_sentence_no_traceback(clash)
    imported = run("grids", "import", str(converted), "--layer", "census", "--effective", "2012-01-01T00:00", url=url)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "published census version 1" in imported.stdout

    points = tmp_path / "sf.csv"
    points.write_text("id,lon,lat\nmission,-122.4194,37.7599\ntreasure,-122.3707,37.8170\n", encoding="utf-8")
    located = run("locate", str(points), "--out", str(tmp_path / "out.csv"), url=url)
    assert located.returncode == 0
    import csv

    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert rows[0]["census.block_group"].startswith("1500000US06075") and rows[0]["status"] == "outside"
    assert rows[1]["census.block_group"] == ""  # Treasure Island: in no block group


def test_demo_users_are_made_once_with_working_tokens(writable_demo_url, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from gridops.cli import cli
    from gridops.web.app import create_app

    monkeypatch.setenv("DATABASE_URL", writable_demo_url)
    out = tmp_path / "demo-users.txt"
    first = CliRunner().invoke(cli, ["demo-users", "--out", str(out)])
    assert first.exit_code == 0 and first.output.startswith("made 7 demo users on grid "), first.output
    again = CliRunner().invoke(cli, ["demo-users", "--out", str(out)])
    assert again.exit_code == 0 and "already made" in again.output
    rows = [ln.split("\t") for ln in out.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    worker_token = next(t for role, _, t in rows if role == "grid_worker")
    app = create_app({"DATABASE_URL": writable_demo_url, "INSTANCE_PATH": str(tmp_path / "instance")})
    try:
        tasks = app.test_client().get("/api/v1/me/tasks", headers={"Authorization": f"Bearer {worker_token}"})
        assert tasks.status_code == 200 and tasks.json["worker"]["role"] == "grid_worker"
    finally:
        app.extensions["gridops.db"].dispose()


def test_a_command_on_a_database_without_the_schema_says_to_upgrade(tmp_path):
    """A fresh database file, no `gridops db upgrade` yet: one sentence that says what to run, not a traceback."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    said = one_sentence_no_traceback(run("grids", "levels", url=url))
    assert "gridops db upgrade" in said
    said = one_sentence_no_traceback(run("users", "list", url=url))
    assert "gridops db upgrade" in said
