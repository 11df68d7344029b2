"""Fixtures: real databases on both backends, a real HTTP client, the demo city.

Every database test runs twice, on SpatiaLite (always) and on PostGIS (when a
server is reachable; under CI=true it must be, and a PostGIS skip fails the run).
The demo city is generated once and loaded once per backend for the whole run (the
xdist workers share them: tests/runshare.py); tests that change data get a copy of
their own, dropped when the test ends.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gridops.demo.city import DEFAULT_END, generate_city, write_city
from tests.runshare import RunShare

ADMIN_URL = os.environ.get("GRIDOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["spatialite", "postgis"]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGIS_SKIP = "PostGIS server not reachable"


def pytest_sessionfinish(session, exitstatus):
    """Under CI a skipped PostGIS test is a failure: the system of record must be tested."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if any(POSTGIS_SKIP in str(getattr(r, "longrepr", "")) for r in skipped):
        session.exitstatus = 1


class PostgresServer:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.admin = make_url(admin_url)
        self.engine = create_engine(self.admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        self.created: list[str] = []
        self._dropper: ThreadPoolExecutor | None = None
        self._dropping: list[Future] = []

    def reachable(self) -> str | None:
        from sqlalchemy import text

        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return None
        except Exception as exc:  # any failure to connect means "not reachable"
            return str(exc).splitlines()[0]

    def create(self, template: str | None = None, *, keep: bool = False) -> str:
        """A new database (a copy of `template`); dropped by drop_all unless `keep` (a template
        shared by the whole run, which its last worker drops: tests/runshare.py)."""
        from sqlalchemy import text

        name = f"gridops_test_{uuid.uuid4().hex[:10]}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        if not keep:
            self.created.append(name)
        return name

    def url(self, name: str) -> str:
        return self.admin.set(database=name).render_as_string(hide_password=False)

    def drop(self, name: str) -> None:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.created:
            self.created.remove(name)

    def drop_later(self, name: str) -> None:
        """Drop a test's database in the background: every DROP DATABASE forces a checkpoint (0.1-2 s of
        the server's I/O), which overlaps the next test instead of piling up at the end of the run."""
        if self._dropper is None:
            self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridops-test-dropdb")
        self._dropping.append(self._dropper.submit(self.drop, name))

    def drop_all(self) -> None:
        for future in self._dropping:
            future.result()
        for name in list(self.created):
            self.drop(name)
        if self._dropper is not None:
            self._dropper.shutdown()
        self.engine.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    server = PostgresServer(ADMIN_URL)
    problem = server.reachable()
    if problem:
        server.engine.dispose()
        yield None
        return
    yield server
    server.drop_all()


def _need_postgres(postgres: PostgresServer | None) -> PostgresServer:
    if postgres is None:
        message = f"{POSTGIS_SKIP} at {ADMIN_URL}"
        if IN_CI:
            pytest.fail(message + " (CI=true requires the PostGIS tests to run)")
        pytest.skip(message)
    return postgres


@pytest.fixture(scope="session")
def run_share(tmp_path_factory) -> Iterator[RunShare]:
    """What the run's workers make once and share (set up before, torn down after every other fixture)."""
    share = RunShare(tmp_path_factory, drop_database=_drop_database)
    yield share
    share.leave()


def _drop_database(name: str) -> None:
    server = PostgresServer(ADMIN_URL)
    try:
        server.drop(name)
    finally:
        server.engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def _join_run_share(run_share: RunShare) -> None:
    """Every worker counts as a user of the shared databases from its first test on."""


@pytest.fixture(scope="session")
def demo_city_dir(run_share: RunShare) -> Path:
    out = run_share.root / "demo-city"

    def make() -> dict:
        write_city(generate_city(seed=7, end=DEFAULT_END, weeks=8), out)
        return {"dir": str(out)}

    return Path(run_share.once("demo-city", make)["dir"])


class Backend:
    """A way to get databases of one kind: empty, migrated, or with the demo city."""

    def __init__(self, name: str, tmp_factory, postgres: PostgresServer | None) -> None:
        self.name = name
        self.tmp_factory = tmp_factory
        self.postgres = postgres

    def empty_url(self, *, keep: bool = False) -> str:
        """A new database; `keep`: one the run's last worker drops (tests/runshare.py), not this worker."""
        if self.name == "spatialite":
            return f"sqlite:///{self.tmp_factory.mktemp('sqlite') / 'gridops.sqlite'}"
        return self.postgres.url(self.postgres.create(keep=keep))

    def clone(self, url: str) -> str:
        """A private copy of a database (the demo city is loaded once, then copied)."""
        if self.name == "spatialite":
            src = Path(url.removeprefix("sqlite:///"))
            dst = self.tmp_factory.mktemp("sqlite") / "gridops.sqlite"
            shutil.copyfile(src, dst)
            return f"sqlite:///{dst}"
        template = url.rsplit("/", 1)[1]
        return self.postgres.url(self.postgres.create(template=template))

    def discard(self, url: str) -> None:
        """A test's database is done with: dropped now (PostGIS, in the background), not at the end of the run."""
        if self.name == "postgis":
            self.postgres.drop_later(url.rsplit("/", 1)[1])


def migrate(url: str) -> None:
    from gridops.core.db import Database
    from gridops.core.schema import upgrade

    db = Database(url)
    try:
        upgrade(db)
    finally:
        db.dispose()


# what each load of the demo city counted (its history made by the real loop: merged reports, skipped steps), by URL
DEMO_LOADS: dict[str, dict[str, int]] = {}


def load_demo(url: str, city_dir: Path) -> None:
    from gridops.core.config import load_config
    from gridops.core.db import Database
    from gridops.demo.loader import load_city

    db = Database(url)
    try:
        with db.session() as session:
            counts = load_city(session, city_dir, config=load_config({"DATABASE_URL": url}))
        DEMO_LOADS[url] = counts or {}
    finally:
        db.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory, postgres) -> Backend:
    if request.param == "postgis":
        _need_postgres(postgres)
    return Backend(request.param, tmp_path_factory, postgres)


@pytest.fixture(scope="session")
def demo_template_url(request, backend: Backend, demo_city_dir: Path, run_share: RunShare, tmp_path_factory, postgres) -> str:
    """The demo city, loaded once per backend for the whole run; only ever copied, never connected to afterwards.

    A worker that finds the backend's load already under way (by the other worker) loads the other
    backend meanwhile, if this run has tests on it: the two loads (a minute or two each) run side by side.
    """

    def build(name: str):
        def make() -> dict:
            if name == "spatialite":
                url = f"sqlite:///{run_share.root / 'demo-city.sqlite'}"
            else:
                url = Backend(name, tmp_path_factory, postgres).empty_url(keep=True)
                run_share.owns_database(f"demo-{name}", url.rsplit("/", 1)[1])
            migrate(url)
            load_demo(url, demo_city_dir)
            return {"url": url, "counts": DEMO_LOADS[url]}
        return make

    others = [name for name in BACKENDS if name != backend.name and _run_has_tests_on(request.session, name)
              and (name != "postgis" or postgres is not None)]
    state = run_share.once(f"demo-{backend.name}", build(backend.name), meanwhile={f"demo-{n}": build(n) for n in others})
    DEMO_LOADS[state["url"]] = state["counts"]
    return state["url"]


def _run_has_tests_on(session, backend_name: str) -> bool:
    return any(getattr(item, "callspec", None) and item.callspec.params.get("backend") == backend_name for item in session.items)


@pytest.fixture(scope="session")
def demo_load_counts(demo_template_url: str) -> dict[str, int]:
    """What loading the demo city counted (gridops.demo.loader.load_city's answer)."""
    return DEMO_LOADS[demo_template_url]


@pytest.fixture(scope="session")
def demo_url(backend: Backend, demo_template_url: str) -> str:
    """A database with the demo city, shared by read-only tests. Do not write to it."""
    return backend.clone(demo_template_url)


@pytest.fixture
def writable_demo_url(backend: Backend, demo_template_url: str) -> Iterator[str]:
    """A private copy of the demo database for a test that changes data."""
    url = backend.clone(demo_template_url)
    yield url
    backend.discard(url)


@pytest.fixture
def empty_url(backend: Backend) -> Iterator[str]:
    """A brand-new database with no schema."""
    url = backend.empty_url()
    yield url
    backend.discard(url)


@pytest.fixture
def migrated_url(empty_url: str) -> str:
    migrate(empty_url)
    return empty_url


def make_app(url: str, tmp_path: Path, **extra):
    from gridops.web.app import create_app

    return create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True, **extra})


def sign_in(app, role: str = "admin", **kw):
    """A test client that sends a new user's token (of `role`) with every request."""
    from gridops.access.users import add_user

    with app.extensions["gridops.db"].session() as s:
        _, token = add_user(s, f"test {role}", role, **kw)
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return c


@pytest.fixture(scope="session")
def demo_app(demo_url: str, tmp_path_factory):
    app = make_app(demo_url, tmp_path_factory.mktemp("app"))
    yield app
    app.extensions["gridops.db"].dispose()


@pytest.fixture
def client(demo_app):
    return demo_app.test_client()


@pytest.fixture(scope="session")
def admin_client(demo_app):
    """A client signed in as an admin (who may call every route) on the shared demo city."""
    return sign_in(demo_app, "admin")


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@dataclass
class City:
    """A private demo city with users of every role, an HTTP client, and a clock that tests set."""

    app: object
    client: object
    tokens: dict[str, str]
    workers: dict[str, str]  # role name -> worker code, for the grid used in tests

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def session(self):
        return self.app.extensions["gridops.db"].session()


# A grid of the demo city and a point inside it, used across the incident tests.
TEST_GRID = "510199001002005"
TEST_POINT = (104.1003, 30.6203)


@pytest.fixture
def city(writable_demo_url, tmp_path, monkeypatch):
    from sqlalchemy import select

    from gridops.access.users import add_user
    from gridops.core import clock
    from gridops.core.models import Assignment, Worker

    now = {"t": datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))}  # a Monday morning
    clock.set_source(lambda: now["t"])
    app = make_app(writable_demo_url, tmp_path)
    tokens, workers = {}, {}
    with app.extensions["gridops.db"].session() as s:
        def duty(d):
            return s.scalar(select(Worker.code).join(Assignment, Assignment.worker_id == Worker.id)
                            .where(Assignment.area_code == TEST_GRID, Assignment.duty == d))
        workers = {"grid_worker": duty("primary"), "backup": duty("backup"), "grid_leader": duty("leader")}
        community = TEST_GRID[:12]
        for name, role, kw in (
            ("resident", "resident", {}), ("other_resident", "resident", {}),
            ("grid_worker", "grid_worker", {"worker_code": workers["grid_worker"]}),
            ("backup", "grid_worker", {"worker_code": workers["backup"]}),
            ("grid_leader", "grid_leader", {"worker_code": workers["grid_leader"]}),
            ("stranger_worker", "grid_worker", {"areas": ["510199002003001"]}),
            ("community_admin", "community_admin", {"areas": [community]}),
            ("fire", "department", {"department": "fire"}),
            ("command_centre", "command_centre", {}), ("planner", "planner", {}), ("admin", "admin", {}),
        ):
            _, tokens[name] = add_user(s, name, role, **kw)
    city = City(app, app.test_client(), tokens, workers)
    city.clock = now
    yield city
    clock.set_source(None)
    app.extensions["gridops.db"].dispose()


@pytest.fixture
def english(monkeypatch):
    """The answers of every test client in English, for a test that reads the API's English sentences: a client that
    asks for no language gets Chinese (the pages' default; tests/web/test_reader_language.py), and one that chose a
    language before (the cookie of a shared client) gets that."""
    from flask.testing import FlaskClient

    original = FlaskClient.open

    def open_in_english(self, *args, **kwargs):
        if self.get_cookie("gridops_lang") is not None:  # a choice a shared client remembers from another test
            self.delete_cookie("gridops_lang")
        headers = dict(kwargs.pop("headers", None) or {})
        if not any(k.lower() == "accept-language" for k in headers):
            headers["Accept-Language"] = "en"
        return original(self, *args, headers=headers, **kwargs)

    monkeypatch.setattr(FlaskClient, "open", open_in_english)
