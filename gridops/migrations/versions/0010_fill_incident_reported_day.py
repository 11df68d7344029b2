"""Data: the local day of every incident stored before revision 0009, in the city's time zone
(GRIDOPS_TIMEZONE, as the service reads it; Asia/Shanghai when unset).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 20_000


def upgrade() -> None:
    from gridops.core.types import UTCDateTime

    zone = ZoneInfo(os.environ.get("GRIDOPS_TIMEZONE") or "Asia/Shanghai")
    incident = sa.table("incident", sa.column("id", sa.BigInteger()), sa.column("reported_at", UTCDateTime()),
                        sa.column("reported_day", sa.Date()))
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.select(incident.c.id, incident.c.reported_at)
                            .where(incident.c.reported_day.is_(None), incident.c.id > last).order_by(incident.c.id).limit(BATCH)).all()
        if not rows:
            break
        conn.execute(sa.update(incident).where(incident.c.id == sa.bindparam("i")).values(reported_day=sa.bindparam("d")),
                     [{"i": iid, "d": at.astimezone(zone).date()} for iid, at in rows])
        last = rows[-1][0]


def downgrade() -> None:
    op.execute("UPDATE incident SET reported_day = NULL")
