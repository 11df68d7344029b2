"""Categories get a time limit per stage and a class above them; incidents keep the limits they were
reported under.

- `category.accept_limit_minutes` (受理时限, from the report) and `category.verify_limit_minutes` (核查时限,
  from the resolution) beside the handling limit `time_limit_minutes` (处置时限); none means the stage has no
  limit of its own.
- `category_group`: the classes (大类) of an event taxonomy, with names, and `category.group_code` now a
  foreign key to it; the classes the categories already named are created (the demo city's with their
  names, any other under its code, to be named on the admin page).
- `incident.accept_due_at` / `verify_due_at`, and the limits the report was made under
  (`limit_minutes`, `verify_limit_minutes`, `limit_working`): a reopening counts the incident's own limit
  again, not whatever the category says today. Rows reported before this migration get the category's
  limit of now — the best that is known of them.

The incident columns are plain ALTERs (SQLite keeps the incident table's append-only and stamp triggers);
the category table is rebuilt in batch mode on SQLite for its foreign key, so its reference-stamp
triggers are made again afterwards (the lesson of migration 0017).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# the demo city's classes (gridops.demo.catalogue.CATEGORY_GROUPS at the time of writing)
KNOWN = {
    "dispute": ("矛盾纠纷", "Disputes", 10), "hazard": ("安全隐患", "Hidden hazards", 20),
    "order": ("公共秩序", "Public order", 30), "environment": ("市容环境", "City appearance and environment", 40),
    "livelihood": ("民生服务", "Livelihood services", 50), "care": ("关爱帮扶", "Care and help", 60),
    "security": ("治安防范", "Public security", 70),
}


def _stamp_triggers() -> None:
    for verb in ("INSERT", "UPDATE", "DELETE"):  # as migration 0004 made them (routing's stamp is row 1)
        op.execute(f"CREATE TRIGGER IF NOT EXISTS category_reference_stamp_{verb.lower()} AFTER {verb} ON category "
                   "BEGIN UPDATE reference_stamp SET stamp = random() WHERE id = 1; END")


def upgrade() -> None:
    groups = op.create_table(
        "category_group",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("name_en", sa.String(128), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
    )
    bind = op.get_bind()
    named = sorted(c for (c,) in bind.execute(sa.text("SELECT DISTINCT group_code FROM category WHERE group_code IS NOT NULL")))
    rows = []
    for n, code in enumerate(named):
        name, name_en, position = KNOWN.get(code, (code, None, 100 + n))
        rows.append({"code": code, "name": name, "name_en": name_en, "position": position})
    if rows:
        op.bulk_insert(groups, rows)

    sqlite = bind.dialect.name == "sqlite"
    with op.batch_alter_table("category") as batch:
        batch.add_column(sa.Column("accept_limit_minutes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("verify_limit_minutes", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_category_group_code_category_group", "category_group", ["group_code"], ["code"])
        batch.create_check_constraint("accept_limit_positive", "accept_limit_minutes IS NULL OR accept_limit_minutes > 0")
        batch.create_check_constraint("verify_limit_positive", "verify_limit_minutes IS NULL OR verify_limit_minutes > 0")
        if sqlite:  # a rebuilt SQLite table keeps only the constraints it is told of
            batch.create_check_constraint("time_limit_positive", "time_limit_minutes > 0")
    if sqlite:
        _stamp_triggers()

    for column in (sa.Column("accept_due_at", sa.DateTime(timezone=True), nullable=True),
                   sa.Column("verify_due_at", sa.DateTime(timezone=True), nullable=True),
                   sa.Column("limit_minutes", sa.Integer(), nullable=True),
                   sa.Column("verify_limit_minutes", sa.Integer(), nullable=True),
                   sa.Column("limit_working", sa.Boolean(), nullable=True)):
        op.add_column("incident", column)  # no batch: keeps SQLite's triggers on incident
    op.execute("UPDATE incident SET "
               "limit_minutes = (SELECT c.time_limit_minutes FROM category c WHERE c.code = incident.category_code), "
               "limit_working = (SELECT c.working_time FROM category c WHERE c.code = incident.category_code)")


def downgrade() -> None:
    for column in ("limit_working", "verify_limit_minutes", "limit_minutes", "verify_due_at", "accept_due_at"):
        op.drop_column("incident", column)  # SQLite 3.35+ drops a column in place
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("category") as batch:
        batch.drop_constraint("fk_category_group_code_category_group", type_="foreignkey")
        batch.drop_constraint("verify_limit_positive", type_="check")
        batch.drop_constraint("accept_limit_positive", type_="check")
        batch.drop_column("verify_limit_minutes")
        batch.drop_column("accept_limit_minutes")
    if sqlite:
        _stamp_triggers()
    op.drop_table("category_group")
