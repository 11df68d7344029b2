"""Reference data kept live: every change to a worker, an assignment, a calendar day (and, as their
registers arrive, categories, buildings, registers) is an append-only row of who, when, what before
and what after, readable per object and per person.

On SpatiaLite this also restores the category table's reference-stamp triggers: migrations 0013 and
0015 added columns with Alembic's batch mode, which rebuilds an SQLite table and dropped them, so a
changed category was not seen by other processes (nor by this one) until a restart.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TABLE = "reference_change"
MESSAGE = f"{TABLE} is append-only: history is never updated or deleted"


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", _id(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", _id(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("actor_label", sa.String(96), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),  # worker, assignment, calendar_day, …
        sa.Column("key", sa.String(96), nullable=False),  # the object's stable code (工号, a date, …)
        sa.Column("action", sa.String(32), nullable=False),  # create, update, deactivate, import, …
        sa.Column("before", _json(), nullable=True),
        sa.Column("after", _json(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index(op.f("ix_reference_change_kind_key"), TABLE, ["kind", "key"])
    op.create_index(op.f("ix_reference_change_actor_user_id"), TABLE, ["actor_user_id"])
    op.create_index(op.f("ix_reference_change_at"), TABLE, ["at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION {TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
            END $$;
        """)
        op.execute(f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
                   f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
        for verb in ("INSERT", "UPDATE", "DELETE"):  # as migration 0004 made them (routing's stamp is row 1)
            op.execute(f"CREATE TRIGGER IF NOT EXISTS category_reference_stamp_{verb.lower()} AFTER {verb} ON category "
                       "BEGIN UPDATE reference_stamp SET stamp = random() WHERE id = 1; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
        op.execute(f"DROP FUNCTION IF EXISTS {TABLE}_append_only()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{verb}")
    op.drop_index(op.f("ix_reference_change_at"), table_name=TABLE)
    op.drop_index(op.f("ix_reference_change_actor_user_id"), table_name=TABLE)
    op.drop_index(op.f("ix_reference_change_kind_key"), table_name=TABLE)
    op.drop_table(TABLE)
