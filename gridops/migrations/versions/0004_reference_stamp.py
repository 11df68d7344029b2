"""Reference stamps: rows that change whenever what routing reads changes
(categories, the calendar, workers, assignments, shifts, roads: row 1) or what
sign-in reads changes (users, their tokens and areas: row 2), so every process
can keep that data in memory and re-read it only when its stamp moves.
Patrol registers gain the visited person's phone and ID number (both masked on output).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ROUTING, USERS = 1, 2
# table -> (stamp row, the columns whose update matters (None: any update))
WATCHED: dict[str, tuple[int, tuple[str, ...] | None]] = {
    "category": (ROUTING, None),
    "calendar_day": (ROUTING, None),
    "assignment": (ROUTING, None),
    "shift": (ROUTING, None),
    "road": (ROUTING, None),
    "layer": (ROUTING, None),
    # not last_position / last_seen_at: a worker checking in must not invalidate everyone's cache
    "worker": (ROUTING, ("code", "name", "role", "department_code", "active")),
    "app_user": (USERS, ("name", "role", "worker_id", "department_code", "phone", "token_hash", "active")),
    "user_area": (USERS, None),
}


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "reference_stamp",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
    )
    op.execute(f"INSERT INTO reference_stamp (id, stamp) VALUES ({ROUTING}, 1), ({USERS}, 1)")
    if _is_postgres():
        # a random new value, not n + 1: a stamp read inside a transaction that later
        # rolls back must never come back meaning different data
        op.execute(
            """
            CREATE FUNCTION bump_reference_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE reference_stamp SET stamp = floor(random() * 9.0e18)::bigint WHERE id = TG_ARGV[0]::int;
                RETURN NULL;
            END $$;
            """
        )
        for table, (row, columns) in WATCHED.items():
            update = "UPDATE" + (f" OF {', '.join(columns)}" if columns else "")
            op.execute(
                f"CREATE TRIGGER {table}_reference_stamp AFTER INSERT OR {update} OR DELETE OR TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_stamp({row})"
            )
    else:
        for table, (row, columns) in WATCHED.items():
            for verb in ("INSERT", "UPDATE", "DELETE"):
                what = f"UPDATE OF {', '.join(columns)}" if verb == "UPDATE" and columns else verb
                op.execute(
                    f"CREATE TRIGGER {table}_reference_stamp_{verb.lower()} AFTER {what} ON {table} "
                    f"BEGIN UPDATE reference_stamp SET stamp = random() WHERE id = {row}; END"
                )
    op.add_column("patrol_register", sa.Column("phone", sa.String(32)))
    op.add_column("patrol_register", sa.Column("id_number", sa.String(32)))  # 身份证号: masked for all but staff


def downgrade() -> None:
    op.drop_column("patrol_register", "id_number")
    op.drop_column("patrol_register", "phone")
    if _is_postgres():
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_reference_stamp ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_reference_stamp()")
    else:
        for table in WATCHED:
            for verb in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_reference_stamp_{verb}")
    op.drop_table("reference_stamp")
