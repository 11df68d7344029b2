"""Steps that prove something: categories say whether the person who resolved an incident may also
verify (核查) and close it (by default not: other eyes check a resolution; an admin may override, and the
history says so); a patrol visit recorded away from the door keeps the reason given (counted apart).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("category") as batch:
        batch.add_column(sa.Column("separate_verifier", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("task", sa.Column("away_reason", sa.Text()))  # plain ALTER: task is referenced by others


def downgrade() -> None:
    op.drop_column("task", "away_reason")  # SQLite 3.35+ drops a column in place
    with op.batch_alter_table("category") as batch:
        batch.drop_column("separate_verifier")
