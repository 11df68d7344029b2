"""Incidents carry the local day they were reported (in the city's time zone): the risk maps
count by (cell, day), a GROUP BY the planner can size (it cannot size one on an expression of
the report's instant, and then declines to run it in parallel). Filled in by revision 0010.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incident", sa.Column("reported_day", sa.Date(), nullable=True))
    op.create_index("ix_incident_reported_day_h3_cell", "incident", ["reported_day", "h3_cell"])


def downgrade() -> None:
    op.drop_index("ix_incident_reported_day_h3_cell", table_name="incident")
    op.drop_column("incident", "reported_day")  # in place: a batch copy would lose SpatiaLite's geometry registration
