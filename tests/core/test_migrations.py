"""One Alembic history serves both backends, with spatial indexes on both."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gridops.core.db import Database
from gridops.core.health import db_status
from gridops.core.models import Base
from gridops.core.schema import downgrade, head_revision, upgrade

GEOMETRY_COLUMNS = {
    ("area", "geom"), ("building", "location"), ("building", "footprint"), ("road", "geom"),
    ("worker", "last_position"), ("incident", "location"), ("incident_event", "location"), ("task", "location"),
}


@pytest.fixture
def db(migrated_url):
    database = Database(migrated_url)
    yield database
    database.dispose()


def test_upgrade_reaches_head_and_a_second_upgrade_does_nothing(empty_url):
    db = Database(empty_url)
    try:
        assert upgrade(db) == (None, head_revision())
        assert upgrade(db) == (head_revision(), head_revision())
        assert db_status(db).current
    finally:
        db.dispose()


def test_the_migrated_schema_is_exactly_the_models(db):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from gridops.core.schema import MIGRATIONS_DIR

    namespace: dict = {}
    source = (MIGRATIONS_DIR / "env.py").read_text().split("def _configure")[0]
    exec(source.replace("from alembic import context", "").replace("config = context.config", ""), namespace)
    with db.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": namespace["include_object"], "compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_every_geometry_column_has_a_spatial_index(db, backend):
    with db.connect() as conn:
        if backend.name == "postgis":
            rows = conn.execute(text(
                "SELECT t.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_am am ON am.oid = c.relam "
                "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey) WHERE am.amname = 'gist'"
            )).all()
            assert GEOMETRY_COLUMNS <= {(r[0], r[1]) for r in rows}
            srids = conn.execute(text("SELECT DISTINCT srid FROM geometry_columns WHERE f_table_schema = 'public'")).scalars().all()
        else:
            rows = conn.execute(text(
                "SELECT f_table_name, f_geometry_column FROM geometry_columns WHERE spatial_index_enabled = 1"
            )).all()
            assert GEOMETRY_COLUMNS <= {(r[0], r[1]) for r in rows}
            for table, column in GEOMETRY_COLUMNS:  # the R*Tree behind each index exists
                assert conn.execute(text(f"SELECT count(*) FROM idx_{table}_{column}")).scalar() == 0
            srids = conn.execute(text("SELECT DISTINCT srid FROM geometry_columns")).scalars().all()
    assert srids == [4326]


def test_default_area_levels_are_seeded(db):
    with db.connect() as conn:
        levels = conn.execute(text("SELECT code FROM area_level ORDER BY depth")).scalars().all()
    assert levels == ["district", "street", "community", "cluster", "grid", "micro_grid"]


def test_downgrade_to_nothing_and_back(db):
    downgrade(db, "base")
    with db.connect() as conn:
        assert db_status(db).revision is None
        assert "incident" not in {t for t in _tables(conn)}
    upgrade(db)
    assert db_status(db).current


def _tables(conn):
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
    return conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars().all()


def test_the_incident_history_is_append_only_in_the_database(writable_demo_url):
    db = Database(writable_demo_url)
    try:
        with db.connect() as conn:
            before = conn.execute(text("SELECT count(*) FROM incident_event")).scalar()
            assert before > 0
            for statement in ("UPDATE incident_event SET note = 'rewritten'", "DELETE FROM incident_event"):
                with pytest.raises(DBAPIError, match="append-only"):
                    conn.execute(text(statement))
                conn.rollback()
            conn.execute(text(
                "INSERT INTO incident_event (incident_id, seq, at, action, actor_label) "
                "SELECT incident_id, max(seq) + 1, max(at), 'comment', 'system' FROM incident_event GROUP BY incident_id LIMIT 1"
            ))
            conn.commit()
            assert conn.execute(text("SELECT count(*) FROM incident_event")).scalar() == before + 1
    finally:
        db.dispose()


def test_the_audit_trail_of_reference_data_is_append_only_in_the_database(db):
    with db.connect() as conn:
        conn.execute(text("INSERT INTO reference_change (at, actor_label, kind, key, action) "
                          "VALUES ('2026-12-01 00:00:00', 'system', 'worker', 'W1', 'create')"))
        conn.commit()
        for statement in ("UPDATE reference_change SET actor_label = 'someone else'", "DELETE FROM reference_change"):
            with pytest.raises(DBAPIError, match="append-only"):
                conn.execute(text(statement))
            conn.rollback()
        assert conn.execute(text("SELECT count(*) FROM reference_change")).scalar() == 1


@pytest.mark.parametrize(("table", "change"), [
    ("category", "UPDATE category SET time_limit_minutes = 60"),
    ("calendar_day", "INSERT INTO calendar_day (day, kind) VALUES ('2027-02-06', 'holiday')"),
    ("assignment", "UPDATE assignment SET valid_to = valid_from"),
    ("shift", "DELETE FROM shift"),
    ("worker", "UPDATE worker SET active = false"),
])
def test_every_change_routing_reads_moves_the_routing_stamp(demo_url, table, change):
    """Each process keeps routing's data in memory until this stamp moves: a table whose triggers were lost
    (SQLite rebuilds a table to add a column) would keep serving the old limits and rosters until a restart."""
    database = Database(demo_url)
    try:
        with database.connect() as conn:
            before = conn.execute(text("SELECT stamp FROM reference_stamp WHERE id = 1")).scalar()
            conn.execute(text(change))
            assert conn.execute(text("SELECT stamp FROM reference_stamp WHERE id = 1")).scalar() != before, table
            conn.rollback()
    finally:
        database.dispose()


def test_the_users_own_language_comes_and_goes_with_its_revision(db):
    """0025 adds `app_user.language` and takes it away again; the users stay."""
    with db.connect() as conn:
        conn.execute(text("INSERT INTO app_user (name, role, token_hash, active, created_at, language) "
                          "VALUES ('王芳', 'grid_worker', 'h-0025', true, CURRENT_TIMESTAMP, 'en')"))
        conn.commit()
    downgrade(db, "0024")
    with db.connect() as conn:
        assert db_status(db).revision == "0024"
        assert "language" not in _columns(conn, "app_user")
        assert conn.execute(text("SELECT name FROM app_user WHERE token_hash = 'h-0025'")).scalar() == "王芳"
    upgrade(db)
    with db.connect() as conn:
        assert "language" in _columns(conn, "app_user") and db_status(db).current
        assert conn.execute(text("SELECT language FROM app_user WHERE token_hash = 'h-0025'")).scalar() is None


def _columns(conn, table):
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"), {"t": table}).scalars().all()
    return [r[1] for r in conn.execute(text(f"PRAGMA table_info({table})")).all()]
