"""The house rules, as a newcomer reads them: every room says what it owns, the import contracts
hold (import-linter, every subpackage included), geo stays pure when loaded, and nothing imports
in a circle."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import gridops

ROOT = Path(gridops.__file__).resolve().parent
ROOMS = ("geo", "core", "access", "reference", "boundaries", "incidents", "field", "analytics", "planning", "demo", "web", "cli")
APP_FRAMEWORKS = ("flask", "werkzeug", "sqlalchemy", "geoalchemy2", "alembic", "psycopg", "click")


def _modules(package: str) -> list[str]:
    found = [package]
    pkg = importlib.import_module(package)
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        found.append(info.name)
    return found


def test_every_room_and_subpackage_says_what_it_owns():
    packages = sorted(p.parent for p in ROOT.rglob("__init__.py") if "migrations/versions" not in str(p))
    assert {p.name for p in packages if p.parent == ROOT} >= set(ROOMS)
    for pkg in packages:
        doc = ast.get_docstring(ast.parse((pkg / "__init__.py").read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 8, f"{pkg.relative_to(ROOT.parent)} needs a docstring saying what it owns"


def test_the_import_contracts_hold():
    out = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], capture_output=True, text=True, cwd=ROOT.parent)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "3 kept, 0 broken" in out.stdout


def test_loading_every_module_of_geo_loads_no_framework_and_nothing_of_the_app():
    modules = _modules("gridops.geo")
    assert "gridops.geo.planedits" in modules and len(modules) > 15
    code = (
        "import sys\n" + "".join(f"import {m}\n" for m in modules)
        + f"bad = [m for m in sys.modules if m.split('.')[0] in {APP_FRAMEWORKS!r} or "
        "(m.startswith('gridops.') and m != 'gridops' and not m.startswith('gridops.geo'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_no_module_imports_in_a_circle():
    import grimp

    graph = grimp.build_graph("gridops")
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("gridops") and imported != module:
                back = graph.find_shortest_chain(importer=imported, imported=module)
                assert back is None, f"{module} → {imported} → … → {module}: {back}"
