"""Data: the H3 cell of every incident stored before revision 0007, from its location.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 20_000


def upgrade() -> None:
    from gridops.geo.hexes import STORED_RES, cells_of

    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT id, ST_X(location), ST_Y(location) FROM incident WHERE h3_cell IS NULL AND id > :last ORDER BY id LIMIT :n"
        ), {"last": last, "n": BATCH}).all()
        if not rows:
            break
        cells = cells_of([r[1] for r in rows], [r[2] for r in rows], STORED_RES)
        conn.execute(sa.text("UPDATE incident SET h3_cell = :c WHERE id = :i"),
                     [{"c": int(c), "i": r[0]} for r, c in zip(rows, cells, strict=True)])
        last = rows[-1][0]


def downgrade() -> None:
    op.execute("UPDATE incident SET h3_cell = NULL")
