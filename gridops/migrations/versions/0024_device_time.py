"""The phone's own time of a step: a worker's phone keeps what was done with no signal and sends it
later, so each step carries when it was done on the device (`device_at`) beside when the server stored
it (`at`); a visit task keeps its device time the same way.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incident_event", sa.Column("device_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("task", sa.Column("device_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # SQLite drops a column in place (3.35+): no table copy, so the append-only and stream triggers stay
    op.drop_column("task", "device_at")
    op.drop_column("incident_event", "device_at")
