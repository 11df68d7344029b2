"""Planners' drafts: a community's proposed grids and micro-grids, kept as the grid and
micro-grid of each building until published as a boundary version.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _big(name: str, *args, **kw) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), *args, **kw)


def _json(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "plan_draft",
        _big("id", primary_key=True),
        _big("layer_id", sa.ForeignKey("layer.id", name="fk_plan_draft_layer_id_layer"), nullable=False),
        sa.Column("community_code", sa.String(32), nullable=False),
        _big("base_version_id", sa.ForeignKey("boundary_version.id", name="fk_plan_draft_base_version_id_boundary_version"), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        _json("settings", False),
        _json("assignment", False),
        _json("metrics", True),
        _json("problems", True),
        sa.Column("revision", sa.Integer(), nullable=False),
        _big("published_version_id", sa.ForeignKey("boundary_version.id", name="fk_plan_draft_published_version_id_boundary_version"), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_plan_draft"),
    )
    op.create_index("ix_plan_draft_community_code", "plan_draft", ["community_code"])


def downgrade() -> None:
    op.drop_index("ix_plan_draft_community_code", table_name="plan_draft")
    op.drop_table("plan_draft")
