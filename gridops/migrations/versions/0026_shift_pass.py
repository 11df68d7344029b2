"""Signing a worker's phone in for one shift by a QR code the admin's page shows (issue 16): the pass (whose
link, only hashed here, is opened once within minutes), the shift's end its session keeps to, and who made it.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _id(name: str = "id", **kw) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), **kw)


def upgrade() -> None:
    op.create_table(
        "shift_pass",
        _id(primary_key=True),
        _id("user_id", nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        _id("made_by_user_id", nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scan_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shift_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_hash", sa.String(64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["made_by_user_id"], ["app_user.id"]),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_index(op.f("ix_shift_pass_user_id"), "shift_pass", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_shift_pass_user_id"), table_name="shift_pass")
    op.drop_table("shift_pass")
