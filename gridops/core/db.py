"""The database: one engine for PostGIS or SpatiaLite, chosen by DATABASE_URL.

Every way the database can be missing (a wrong URL, an unreachable server, no
spatial extension) becomes one DatabaseUnavailable with a sentence saying what is
wrong and how to fix it; callers never see a driver traceback.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

# Load the native libraries that pyproj, shapely and pyogrio bundle (PROJ,
# GEOS, GDAL with its own SQLite) before any SpatiaLite connection exists.
# SQLite dlopen()s mod_spatialite with RTLD_GLOBAL, which puts the system PROJ,
# GEOS and libsqlite3 first in the global scope; a wheel loaded after that binds
# to them, mixing two versions of a library in one process (seen here: heap
# corruption at exit after PROJ was used, a segfault writing a GeoPackage).
# Python loads extensions RTLD_NOW, so importing them first binds them to their
# own copies for good.
import pyogrio  # noqa: F401  (imported for its side effect, see above)
import pyproj  # noqa: F401
import shapely  # noqa: F401
from geoalchemy2.admin.dialects.sqlite import init_spatialite
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session

from gridops.core.errors import DatabaseUnavailable

SPATIALITE = "spatialite"
POSTGIS = "postgis"

_SPATIALITE_HINT = (
    "install it with scripts/install-system-deps (Debian: apt-get install libsqlite3-mod-spatialite), "
    "or point SPATIALITE_LIBRARY_PATH at mod_spatialite"
)
_POSTGIS_HINT = "install it with scripts/install-system-deps (Debian: apt-get install postgresql-15-postgis-3)"


def parse_database_url(raw: str) -> tuple[URL, str]:
    """The SQLAlchemy URL and backend name for a DATABASE_URL, or one clear error."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise DatabaseUnavailable(
            f"DATABASE_URL {raw!r} is not a database URL: use postgresql+psycopg://user@host:5432/dbname "
            "or sqlite:///path/to/file.sqlite (or unset it for the embedded default)."
        ) from None
    backend_name = url.get_backend_name()
    if backend_name in {"postgresql", "postgres"}:
        if url.get_driver_name() not in {"psycopg", "psycopg2", ""} and url.drivername != "postgres":
            raise DatabaseUnavailable(
                f"DATABASE_URL uses driver {url.drivername!r}; gridops talks to PostgreSQL through psycopg 3: "
                "write postgresql+psycopg://…"
            )
        return url.set(drivername="postgresql+psycopg"), POSTGIS
    if backend_name == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise DatabaseUnavailable(
                "DATABASE_URL points at an in-memory SQLite database; gridops needs a file "
                "(sqlite:///path/to/file.sqlite) so the schema and data outlive one connection."
            )
        return url.set(drivername="sqlite+pysqlite"), SPATIALITE
    raise DatabaseUnavailable(
        f"DATABASE_URL scheme {url.drivername!r} is not supported: gridops runs on PostGIS "
        "(postgresql+psycopg://…) or SpatiaLite (sqlite:///…, the default when DATABASE_URL is unset)."
    )


def sqlite_module() -> ModuleType:
    """The standard sqlite3 where it can load extensions, else pysqlite3 (its own SQLite)."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        return importlib.import_module("pysqlite3.dbapi2")
    except ImportError:
        raise DatabaseUnavailable(
            "This Python's sqlite3 module cannot load extensions, so SpatiaLite cannot be loaded: "
            "pip install pysqlite3-binary (make demo/make test do), or use a Python built with "
            "--enable-loadable-sqlite-extensions."
        ) from None


def _spatialite_library() -> str:
    return os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite")


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    lib = _spatialite_library()
    try:
        dbapi_conn.enable_load_extension(True)
        dbapi_conn.load_extension(lib)
        dbapi_conn.enable_load_extension(False)
    except Exception as exc:  # the driver's OperationalError, whichever module
        raise DatabaseUnavailable(
            f"SpatiaLite ({lib}) could not be loaded into SQLite ({exc}): {_SPATIALITE_HINT}.",
            public=f"SpatiaLite could not be loaded into SQLite: {_SPATIALITE_HINT}.",
        ) from None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA busy_timeout = 30000")
    mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
    if str(mode).lower() != "wal":
        # readers (the live map, several gunicorn workers) must not block the writer
        cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()
    init_spatialite(dbapi_conn, transaction=True, init_mode="WGS84")


def _describe_pg_failure(exc: BaseException, url: URL) -> DatabaseUnavailable:
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    msg = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = msg.lower()
    if "does not exist" in low and "database" in low:
        return DatabaseUnavailable(
            f"PostgreSQL at {where} has no database {url.database!r}: create it (createdb -h {url.host or 'localhost'} "
            f"-U {url.username or 'postgres'} {url.database}) or fix DATABASE_URL.",
            public="PostgreSQL has no such database: create it or fix DATABASE_URL (`gridops db check` names it).",
        )
    if "password authentication failed" in low or "role" in low and "does not exist" in low:
        return DatabaseUnavailable(
            f"PostgreSQL at {where} refused user {url.username!r} ({msg}): fix the user or password in DATABASE_URL.",
            public="PostgreSQL refused the database user: fix the user or password in DATABASE_URL.",
        )
    if "connection refused" in low or "could not connect" in low or "timeout" in low or "no such file" in low or "name or service" in low:
        return DatabaseUnavailable(
            f"Cannot reach PostgreSQL at {where} ({msg}): start the server or fix the host and port in DATABASE_URL.",
            public="Cannot reach PostgreSQL: start the server or fix the host and port in DATABASE_URL "
                   "(`gridops db check` on the server names them).",
        )
    return DatabaseUnavailable(f"PostgreSQL at {where} failed: {msg}. Check DATABASE_URL.")


class Database:
    """An engine and a session factory for one DATABASE_URL."""

    def __init__(self, raw_url: str, *, echo: bool = False) -> None:
        self.disposed = False
        self.url, self.backend = parse_database_url(raw_url)
        self.engine: Engine = self._make_engine(echo)

    def _make_engine(self, echo: bool) -> Engine:
        if self.backend == SPATIALITE:
            assert self.url.database is not None  # parse_database_url refuses a SQLite URL without a file
            path = Path(self.url.database).expanduser()
            if not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                self.url,
                module=sqlite_module(),
                echo=echo,
                connect_args={"timeout": 30, "check_same_thread": False},
            )
            event.listen(engine, "connect", _on_sqlite_connect)
            return engine
        try:
            # a pool as large as a gunicorn worker's threads, so no thread waits for a connection
            return create_engine(self.url, echo=echo, pool_pre_ping=True, pool_size=16, max_overflow=8,
                                 connect_args={"connect_timeout": 5})
        except NoSuchModuleError:
            raise DatabaseUnavailable("The psycopg driver is not installed: pip install 'psycopg[binary]'.") from None

    @property
    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection whose failures read as one sentence."""
        try:
            conn = self.engine.connect()
        except DatabaseUnavailable:
            raise
        except (DBAPIError, OSError) as exc:
            if self.backend == POSTGIS:
                raise _describe_pg_failure(exc, self.url) from None
            raise DatabaseUnavailable(f"Cannot open the SQLite database {self.url.database}: {exc}.") from None
        with conn:
            yield conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with self.connect() as conn:
            session = Session(bind=conn, expire_on_commit=False)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    def versions(self, conn: Connection) -> tuple[str, str | None, bool]:
        """The server's version, the spatial library's (as spatial_version) and whether the schema's
        version table exists, in one round trip: /healthz is probed every few seconds, under load."""
        if self.backend == SPATIALITE:
            row = conn.execute(text("SELECT sqlite_version(), spatialite_version(), EXISTS (SELECT 1 FROM sqlite_master "
                                    "WHERE type = 'table' AND name = 'alembic_version')")).one()
            return str(row[0]), str(row[1]), bool(row[2])
        row = conn.execute(text("SELECT current_setting('server_version'), "
                                "(SELECT extversion FROM pg_extension WHERE extname = 'postgis'), "
                                "to_regclass('alembic_version') IS NOT NULL")).one()
        spatial = str(row[1]) if row[1] else self.spatial_version(conn)  # None, or why PostGIS is missing
        return str(row[0]), spatial, bool(row[2])

    def spatial_version(self, conn: Connection) -> str | None:
        """The spatial library's version; None when PostGIS is installed but not yet
        created in this database (`gridops db upgrade` creates it)."""
        if self.backend == SPATIALITE:
            return conn.execute(text("SELECT spatialite_version()")).scalar_one()
        created = conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")).scalar()
        if created:
            return conn.execute(text("SELECT PostGIS_Lib_Version()")).scalar_one()
        available = conn.execute(text("SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'")).scalar()
        if available:
            return None
        message = f"PostGIS is not installed on the PostgreSQL server: {_POSTGIS_HINT}."
        raise DatabaseUnavailable(message, public=message)

    def dispose(self) -> None:
        """Close every connection; background users of this database (the stream listener) stop."""
        self.disposed = True
        self.engine.dispose()
