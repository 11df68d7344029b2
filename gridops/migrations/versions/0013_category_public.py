"""Which categories the public sees: `public` (anonymous Open311 clients list them) and `sensitive`
(their free text is never shown publicly: care, disputes, police matters).

Existing categories get the rule the demo's catalogue follows: care and police matters are not
public; care, disputes and police matters are sensitive.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("category") as batch:
        batch.add_column(sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("sensitive", sa.Boolean(), nullable=False, server_default=sa.false()))
    police = "department_code = 'police'"
    op.execute(f"UPDATE category SET public = {_false()} WHERE group_code = 'care' OR {police}")
    op.execute(f"UPDATE category SET sensitive = {_true()} WHERE group_code IN ('care', 'dispute') OR {police}")


def _true() -> str:
    return "1" if op.get_bind().dialect.name == "sqlite" else "TRUE"


def _false() -> str:
    return "0" if op.get_bind().dialect.name == "sqlite" else "FALSE"


def downgrade() -> None:
    with op.batch_alter_table("category") as batch:
        batch.drop_column("sensitive")
        batch.drop_column("public")
