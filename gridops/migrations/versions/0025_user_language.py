"""A person's own language: the pages they open signed in, and the messages sent to them, are in it
(zh_Hans_CN or en; none: the browser's choice for pages, Chinese for messages).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("app_user", sa.Column("language", sa.String(16), nullable=True))


def downgrade() -> None:
    # SQLite drops a column in place (3.35+): no table copy
    op.drop_column("app_user", "language")
