"""Patrols ordered from a hot spot (派发巡查): the order (who, when, which category, which cells and micro-grids,
the checklist) and, on each visit task it made, the order it belongs to and the checklist to walk.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def _id(name: str = "id", **kw) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), **kw)


def _json(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "patrol_order",
        _id(primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _id("created_by_user_id", nullable=True),
        sa.Column("actor_label", sa.String(96), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("res", sa.SmallInteger(), nullable=False),
        _json("cells", nullable=False),
        _json("micro_grids", nullable=False),
        _json("checklist", nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["app_user.id"]),
    )
    op.create_index(op.f("ix_patrol_order_created_at"), "patrol_order", ["created_at"])
    # in place, no batch: keeps SQLite's triggers (SQLite takes REFERENCES in ADD COLUMN, not a separate constraint)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE task ADD COLUMN order_id INTEGER REFERENCES patrol_order (id)")
    else:
        op.add_column("task", sa.Column("order_id", sa.BigInteger(), sa.ForeignKey("patrol_order.id"), nullable=True))
    op.add_column("task", _json("checklist"))
    op.create_index(op.f("ix_task_order_id"), "task", ["order_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_task_order_id"), table_name="task")
    op.drop_column("task", "checklist")
    op.drop_column("task", "order_id")
    op.drop_index(op.f("ix_patrol_order_created_at"), table_name="patrol_order")
    op.drop_table("patrol_order")
