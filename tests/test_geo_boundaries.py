"""geo/ stays pure: no Flask, no database, no service/ (DESIGN.md's layering)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

GEO = Path(__file__).resolve().parent.parent / "gridops" / "geo"
FORBIDDEN = ("flask", "sqlalchemy", "geoalchemy2", "alembic", "psycopg", "werkzeug")


def _app_module(name: str) -> bool:
    return name.startswith("gridops.") and not name.startswith("gridops.geo")


def test_geo_source_imports_nothing_of_the_app_or_the_database():
    offenders = []
    for path in GEO.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN or _app_module(n)]
    assert offenders == []


def test_importing_all_of_geo_loads_neither_flask_nor_sqlalchemy():
    modules = sorted(p.stem for p in GEO.glob("*.py") if p.stem != "__init__")
    code = (
        "import sys\n"
        + "".join(f"import gridops.geo.{m}\n" for m in modules)
        + f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or (m.startswith('gridops.') and not m.startswith('gridops.geo'))]\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
