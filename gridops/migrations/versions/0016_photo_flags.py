"""Photos that prove a resolution: flags kept with the incident when a resolution photo's EXIF says it
was taken before the report, in the future, or far from the incident, or when the same photo (by content
hash) already resolved another incident (虚假办结); attachments are indexed by hash to find that.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _ref(name: str, target: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.ForeignKey(target), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "incident_flag",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        _ref("incident_id", "incident.id", nullable=False),
        _ref("event_id", "incident_event.id"),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(op.f("ix_incident_flag_incident_id"), "incident_flag", ["incident_id"])
    op.create_index(op.f("ix_incident_flag_created_at"), "incident_flag", ["created_at"])
    op.create_index(op.f("ix_attachment_sha256"), "attachment", ["sha256"])


def downgrade() -> None:
    op.drop_index(op.f("ix_attachment_sha256"), table_name="attachment")
    op.drop_index(op.f("ix_incident_flag_created_at"), table_name="incident_flag")
    op.drop_index(op.f("ix_incident_flag_incident_id"), table_name="incident_flag")
    op.drop_table("incident_flag")
