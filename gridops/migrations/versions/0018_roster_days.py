"""Rosters beyond the weekly pattern: a day's own windows, leave (请假) and swaps (换班) per worker and day;
a department's own office hours. Both are read by routing and deadlines, so both move routing's
reference stamp (row 1, as migration 0004 made it) and every process sees a change at its next report.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ROUTING = 1
TABLE = "roster_day"


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", _id(), primary_key=True),
        sa.Column("worker_id", _id(), sa.ForeignKey("worker.id"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=True),
        sa.Column("end_time", sa.Time(), nullable=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("swap_with_id", _id(), sa.ForeignKey("worker.id"), nullable=True),
        sa.CheckConstraint("kind IN ('shift', 'off')", name="kind_known"),
        sa.CheckConstraint("(kind = 'off') = (start_time IS NULL AND end_time IS NULL)", name="times_iff_shift"),
    )
    op.create_index(op.f("ix_roster_day_worker_id_day"), TABLE, ["worker_id", "day"])
    op.create_index(op.f("ix_roster_day_day"), TABLE, ["day"])
    op.add_column("department", sa.Column("office_hours", sa.String(64), nullable=True))  # no batch: keeps SQLite's triggers
    if op.get_bind().dialect.name == "postgresql":
        for table in (TABLE, "department"):
            op.execute(f"CREATE TRIGGER {table}_reference_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_stamp({ROUTING})")
    else:
        for table in (TABLE, "department"):
            for verb in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_reference_stamp_{verb.lower()} AFTER {verb} ON {table} "
                           f"BEGIN UPDATE reference_stamp SET stamp = random() WHERE id = {ROUTING}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (TABLE, "department"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_reference_stamp ON {table}")
    else:
        for table in (TABLE, "department"):
            for verb in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_reference_stamp_{verb}")
    with op.batch_alter_table("department") as batch:
        batch.drop_column("office_hours")
    op.drop_index(op.f("ix_roster_day_day"), table_name=TABLE)
    op.drop_index(op.f("ix_roster_day_worker_id_day"), table_name=TABLE)
    op.drop_table(TABLE)
