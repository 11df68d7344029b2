"""Data: the default area levels, so a new database can take boundaries at once.

Levels are data because cities differ; `gridops load` and the boundary import
may add or adjust them. Kept apart from the schema revision (schema and data
migrations are separate, reversible revisions).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_level = sa.table(
    "area_level",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("name_en", sa.String),
    sa.column("depth", sa.SmallInteger),
    sa.column("code_digits", sa.SmallInteger),
    sa.column("optional", sa.Boolean),
    sa.column("households_min", sa.Integer),
    sa.column("households_max", sa.Integer),
)

# Codes follow the national grid-coding practice: a 6-digit district (county)
# admin code, 3 digits per street and community, 3 per grid (GB/T 30428 unit grids).
DEFAULT_LEVELS = [
    dict(code="district", name="区", name_en="District", depth=0, code_digits=6, optional=False, households_min=None, households_max=None),
    dict(code="street", name="街道", name_en="Street (sub-district)", depth=1, code_digits=3, optional=False, households_min=None, households_max=None),
    dict(code="community", name="社区", name_en="Community", depth=2, code_digits=3, optional=False, households_min=None, households_max=None),
    dict(code="cluster", name="小分格", name_en="Grid cluster", depth=3, code_digits=2, optional=True, households_min=None, households_max=None),
    dict(code="grid", name="网格", name_en="Grid", depth=4, code_digits=3, optional=False, households_min=300, households_max=500),
    dict(code="micro_grid", name="微网格", name_en="Micro-grid", depth=5, code_digits=3, optional=False, households_min=50, households_max=80),
]


def upgrade() -> None:
    op.bulk_insert(_level, DEFAULT_LEVELS)


def downgrade() -> None:
    op.execute(_level.delete().where(_level.c.code.in_([lv["code"] for lv in DEFAULT_LEVELS])))
