"""The live stream is fed by the database: every row added to the incident history
adds its stream event (and, on PostGIS, wakes the listeners) in the same
transaction — so no code path can change an incident without the live map
hearing of it, and a batch of reports costs no extra statements for it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CHANNEL = "gridops_events"  # gridops.incidents.stream.CHANNEL


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION incident_event_to_stream() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO stream_event (at, kind, incident_id, data)
                VALUES (NEW.at, 'incident', NEW.incident_id, jsonb_build_object(
                    'id', NEW.incident_id, 'action', NEW.action, 'status', NEW.to_status, 'seq', NEW.seq));
                RETURN NULL;
            END $$;
            """
        )
        op.execute("CREATE TRIGGER incident_event_stream AFTER INSERT ON incident_event "
                   "FOR EACH ROW EXECUTE FUNCTION incident_event_to_stream()")
        op.execute(
            f"""
            CREATE FUNCTION stream_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('{CHANNEL}', '');
                RETURN NULL;
            END $$;
            """
        )
        op.execute("CREATE TRIGGER stream_event_notify AFTER INSERT ON stream_event "
                   "FOR EACH STATEMENT EXECUTE FUNCTION stream_event_notify()")
    else:
        op.execute(
            """
            CREATE TRIGGER incident_event_stream AFTER INSERT ON incident_event
            BEGIN
                INSERT INTO stream_event (at, kind, incident_id, data)
                VALUES (NEW.at, 'incident', NEW.incident_id, json_object(
                    'id', NEW.incident_id, 'action', NEW.action, 'status', NEW.to_status, 'seq', NEW.seq));
            END
            """
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS stream_event_notify ON stream_event")
        op.execute("DROP FUNCTION IF EXISTS stream_event_notify()")
        op.execute("DROP TRIGGER IF EXISTS incident_event_stream ON incident_event")
        op.execute("DROP FUNCTION IF EXISTS incident_event_to_stream()")
    else:
        op.execute("DROP TRIGGER IF EXISTS incident_event_stream")
