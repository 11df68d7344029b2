"""A stamp that moves when settled incident history changes (reference_stamp row 3).

The risk maps keep the counts of settled days (older than the last two) in
memory, so a page over a year of a million incidents queries only the last days.
What could change those counts — an incident of a settled day inserted (a
loaded history), deleted, merged or split, or moved to another category, grid,
cell or day — moves this stamp, and every process drops its counts at the next
request. Closing old incidents, the daily work, does not touch it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

HISTORY = 3  # gridops.reference.data.HISTORY_STAMP
COUNTED = ("status", "category_code", "grid_id", "h3_cell", "reported_day")


def upgrade() -> None:
    op.execute(f"INSERT INTO reference_stamp (id, stamp) VALUES ({HISTORY}, 1)")
    bump_pg = f"UPDATE reference_stamp SET stamp = floor(random() * 9.0e18)::bigint WHERE id = {HISTORY};"
    if op.get_bind().dialect.name == "postgresql":
        settled = "(now() AT TIME ZONE 'UTC')::date - 2"
        changed = " OR ".join(
            ["(o.status = 'merged') IS DISTINCT FROM (n.status = 'merged')"]
            + [f"o.{c} IS DISTINCT FROM n.{c}" for c in COUNTED if c != "status"]
        )
        for verb, rows, test in (
            ("insert", "NEW TABLE AS new_rows", f"SELECT 1 FROM new_rows WHERE reported_day < {settled}"),
            ("delete", "OLD TABLE AS old_rows", f"SELECT 1 FROM old_rows WHERE reported_day < {settled}"),
            ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
             f"SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE "
             f"(o.reported_day < {settled} OR n.reported_day < {settled}) AND ({changed})"),
        ):
            op.execute(f"""
                CREATE FUNCTION incident_history_{verb}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF EXISTS ({test}) THEN {bump_pg} END IF;
                    RETURN NULL;
                END $$;
            """)
            op.execute(f"CREATE TRIGGER incident_history_{verb} AFTER {verb.upper()} ON incident REFERENCING {rows} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION incident_history_{verb}()")
    else:
        bump = f"UPDATE reference_stamp SET stamp = random() WHERE id = {HISTORY};"
        settled = "date('now', '-2 days')"
        changed = " OR ".join(["(OLD.status = 'merged') <> (NEW.status = 'merged')"]
                              + [f"OLD.{c} IS NOT NEW.{c}" for c in COUNTED if c != "status"])
        op.execute(f"CREATE TRIGGER incident_history_insert AFTER INSERT ON incident "
                   f"WHEN NEW.reported_day < {settled} BEGIN {bump} END")
        op.execute(f"CREATE TRIGGER incident_history_delete AFTER DELETE ON incident "
                   f"WHEN OLD.reported_day < {settled} BEGIN {bump} END")
        op.execute(f"CREATE TRIGGER incident_history_update AFTER UPDATE OF {', '.join(COUNTED)} ON incident "
                   f"WHEN (OLD.reported_day < {settled} OR NEW.reported_day < {settled}) AND ({changed}) BEGIN {bump} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for verb in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS incident_history_{verb} ON incident")
            op.execute(f"DROP FUNCTION IF EXISTS incident_history_{verb}()")
    else:
        for verb in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS incident_history_{verb}")
    op.execute(f"DELETE FROM reference_stamp WHERE id = {HISTORY}")
