"""Users and their tokens, notifications, the event stream, patrol registers;
incidents gain an Open311 token, the reporting user and supervision (督办).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _id(name: str = "id", **kw) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), **kw)


def _ref(name: str, target: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.ForeignKey(target), nullable=nullable)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True)


def upgrade() -> None:
    op.create_table(
        "app_user",
        _id(primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        _ref("worker_id", "worker.id"),
        sa.Column("department_code", sa.String(32), sa.ForeignKey("department.code")),
        sa.Column("phone", sa.String(32)),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the token; the token is never stored
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _ts("last_seen_at", nullable=True),
    )
    op.create_table(
        "user_area",
        _id(primary_key=True),
        _ref("user_id", "app_user.id", nullable=False),
        sa.Column("area_code", sa.String(32), nullable=False),
        sa.UniqueConstraint("user_id", "area_code"),
    )
    op.create_table(
        "notification",
        _id(primary_key=True),
        _ref("worker_id", "worker.id"),
        _ref("user_id", "app_user.id"),
        _ref("incident_id", "incident.id"),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _ts("created_at"),
        _ts("read_at", nullable=True),
    )
    op.create_index(op.f("ix_notification_worker_id"), "notification", ["worker_id"])
    op.create_table(
        "stream_event",
        _id(primary_key=True),  # the SSE event id: a client resumes after it
        _ts("at"),
        sa.Column("kind", sa.String(32), nullable=False),
        _ref("incident_id", "incident.id"),
        _json("data"),
    )
    op.create_table(
        "patrol_register",
        _id(primary_key=True),
        _ref("household_id", "household.id"),
        _ref("building_id", "building.id", nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),  # elderly_alone, left_behind_child, disabled, …
        sa.Column("person", sa.String(64)),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("last_visit_at", nullable=True),
        _ts("created_at"),
    )
    # Plain ADD COLUMN, not batch mode: on SQLite a batch copy of a table with a
    # geometry column would lose its SpatiaLite registration and spatial index.
    op.add_column("incident", sa.Column("token", sa.String(40)))  # Open311: the receipt before an id is known
    _add_reference("incident", "reporter_user_id", "app_user")
    op.add_column("incident", _ts("supervised_at", nullable=True))
    op.create_index(op.f("ix_incident_token"), "incident", ["token"], unique=True)
    _add_reference("task", "patrol_id", "patrol_register")


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable foreign-key column added in place (SQLite takes REFERENCES in ADD COLUMN, not a separate constraint)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)")
    else:
        op.add_column(table, _ref(column, f"{target}.id"))


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_token"), table_name="incident")
    for table, column in (("task", "patrol_id"), ("incident", "supervised_at"), ("incident", "reporter_user_id"), ("incident", "token")):
        op.drop_column(table, column)
    for table in ("patrol_register", "stream_event", "notification", "user_area", "app_user"):
        op.drop_table(table)
