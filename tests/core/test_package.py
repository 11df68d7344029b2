"""gridops as a wheel, installed into an empty folder with no repository around it: the migrations,
templates and static files travel inside the package, and the command works from there."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(wheels)],
                   check=True, capture_output=True, text=True, cwd=wheels)
    wheel = next(wheels.glob("gridops-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("gridops/migrations/versions/0001_") for n in names)
    assert "gridops/web/templates/worker.html" in names and "gridops/web/static/vendor/leaflet/leaflet.js" in names
    assert not any(n.startswith(("service/", "geo/", "tests/")) for n in names)
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True, cwd=wheels)
    return target


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}, "PYTHONPATH": str(site),
           "DATABASE_URL": f"sqlite:///{cwd / 'city.sqlite'}"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def test_the_installed_wheel_upgrades_generates_and_loads_in_an_empty_folder(installed, tmp_path):
    where = _run(installed, tmp_path, "-c", "import gridops; print(gridops.__file__)")
    assert where.stdout.strip().startswith(str(installed)), where.stdout + where.stderr  # not the repository's copy
    up = _run(installed, tmp_path, "-m", "gridops", "db", "upgrade")
    assert up.returncode == 0 and "schema upgraded empty →" in up.stdout, up.stderr
    city = _run(installed, tmp_path, "-m", "gridops", "demo-city", "--seed", "3", "--weeks", "1", "--out", str(tmp_path / "city"))
    assert city.returncode == 0, city.stderr
    load = _run(installed, tmp_path, "-m", "gridops", "load", str(tmp_path / "city"))
    assert load.returncode == 0 and "loaded" in load.stdout, load.stderr
    check = _run(installed, tmp_path, "-m", "gridops", "db", "check")
    assert check.returncode == 0 and "schema:   current" in check.stdout
    assert not (tmp_path / "gridops").exists() and (tmp_path / "city.sqlite").exists()
