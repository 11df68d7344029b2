"""Open work per worker is counted for every routing decision and every batch of
reports: an index on (assignee_id, status) answers it from the index alone, and
replaces the index on assignee_id, which it covers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_incident_assignee_id_status", "incident", ["assignee_id", "status"])
    op.drop_index("ix_incident_assignee_id", table_name="incident")


def downgrade() -> None:
    op.create_index("ix_incident_assignee_id", "incident", ["assignee_id"])
    op.drop_index("ix_incident_assignee_id_status", table_name="incident")
