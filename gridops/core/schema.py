"""The schema's migrations, driven from code (the CLI, the tests, make demo)."""

from __future__ import annotations

from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from gridops.core.config import PACKAGE_DIR
from gridops.core.db import Database

MIGRATIONS_DIR = PACKAGE_DIR / "migrations"


def alembic_config(db: Database | None = None) -> Config:
    cfg = Config()  # no alembic.ini: an installed package has none, and needs none
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if db is not None:
        cfg.attributes["database"] = db
    return cfg


@cache
def head_revision() -> str:
    """Read once per process: the migrations ship with the code, and reading them imports every
    revision's module (a /healthz probe spent most of its time here)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "migrations/versions holds no revision"
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def stored_revision(conn: Connection, table_exists: bool) -> str | None:
    """current_revision in one query, for a caller that already knows whether the table is there."""
    if not table_exists:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Run the migrations up to `revision`; returns (before, after)."""
    with db.connect() as conn:
        before = current_revision(conn)
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
        after = current_revision(conn)
    return before, after


def downgrade(db: Database, revision: str) -> None:
    with db.connect() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        conn.commit()
