"""Incidents carry their H3 cell (resolution 10, geo.hexes.STORED_RES), so the risk maps
count by cell and week with a GROUP BY on an index rather than a spatial join over
every point. The cells of stored incidents are filled in by revision 0008 (data).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incident", sa.Column("h3_cell", sa.BigInteger(), nullable=True))
    op.create_index("ix_incident_reported_at_h3_cell", "incident", ["reported_at", "h3_cell"])


def downgrade() -> None:
    op.drop_index("ix_incident_reported_at_h3_cell", table_name="incident")
    op.drop_column("incident", "h3_cell")  # in place: a batch copy would lose SpatiaLite's geometry registration
