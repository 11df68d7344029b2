"""In-app messages on the live feed: every notification written for a worker or a user adds a stream event
(kind `notification`, no incident), written by the database in the notification's own transaction, as
migration 0005 does for the incident history — so whatever code path writes a message (a step, the sweep,
a script), that person's open pages hear of it at once, and never of one rolled back. Who may hear it is
decided by the feed (gridops.incidents.stream): only the person it is for. A resident known only by a phone
number has no page, and gets no event.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION notification_to_stream() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO stream_event (at, kind, incident_id, data)
                VALUES (NEW.created_at, 'notification', NULL, jsonb_build_object(
                    'id', NEW.id, 'kind', NEW.kind, 'incident', NEW.incident_id,
                    'worker_id', NEW.worker_id, 'user_id', NEW.user_id));
                RETURN NULL;
            END $$;
            """
        )
        op.execute("CREATE TRIGGER notification_stream AFTER INSERT ON notification FOR EACH ROW "
                   "WHEN (NEW.worker_id IS NOT NULL OR NEW.user_id IS NOT NULL) EXECUTE FUNCTION notification_to_stream()")
    else:
        op.execute(
            """
            CREATE TRIGGER notification_stream AFTER INSERT ON notification
            WHEN NEW.worker_id IS NOT NULL OR NEW.user_id IS NOT NULL
            BEGIN
                INSERT INTO stream_event (at, kind, incident_id, data)
                VALUES (NEW.created_at, 'notification', NULL, json_object(
                    'id', NEW.id, 'kind', NEW.kind, 'incident', NEW.incident_id,
                    'worker_id', NEW.worker_id, 'user_id', NEW.user_id));
            END
            """
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS notification_stream ON notification")
        op.execute("DROP FUNCTION IF EXISTS notification_to_stream()")
    else:
        op.execute("DROP TRIGGER IF EXISTS notification_stream")
