"""A visit register may be paused until a day (the person is in hospital, or away with family): no visits
are scheduled through it, and the first after it is due within the first days, as for someone new.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patrol_register", sa.Column("paused_until", sa.Date(), nullable=True))  # no batch: keeps SQLite's triggers


def downgrade() -> None:
    with op.batch_alter_table("patrol_register") as batch:
        batch.drop_column("paused_until")
