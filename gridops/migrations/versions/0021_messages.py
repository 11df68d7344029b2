"""Messages that arrive: the notification table becomes an outbox, delivered per channel.

- `notification` gains the resident's `phone` (a reporter with no account), the template's `data`, `urgent`
  (sent in quiet hours too) and `fanned_at` (copies made for the person's channels). The notifications written
  before this migration are marked fanned out: nobody is sent last month's tasks.
- `delivery`: one copy per channel and what became of it (queued, sent, delivered, failed), with the
  dispatcher's lease and the delivery key a gateway drops repeats by.
- `contact` (how a person is reached and when not), `robot` (group chat robots), `message_template` (an
  admin's wording), `message_setting` (channel settings made on the admin page), `one_time_code` (SMS sign-in).
- `incident.warn_at` / `warned_pct`: the next pre-due warning (50%, 75% of the handling limit). Open
  incidents get none: they were reported before warnings existed.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def _id(name: str = "id", **kw) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), **kw)


def _ref(name: str, target: str, nullable: bool = True, **kw) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.ForeignKey(target),
                     nullable=nullable, **kw)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=nullable)


def upgrade() -> None:
    op.add_column("notification", sa.Column("phone", sa.String(32), nullable=True))
    op.add_column("notification", _json("data"))
    op.add_column("notification", sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("notification", _ts("fanned_at", nullable=True))
    op.execute("UPDATE notification SET fanned_at = created_at")
    op.create_index(op.f("ix_notification_fanned_at"), "notification", ["fanned_at"])
    op.create_index(op.f("ix_notification_user_id"), "notification", ["user_id"])

    op.add_column("incident", _ts("warn_at", nullable=True))
    op.add_column("incident", sa.Column("warned_pct", sa.SmallInteger(), nullable=False, server_default="0"))
    op.create_index(op.f("ix_incident_warn_at"), "incident", ["warn_at"])

    op.create_table(
        "delivery",
        _id(primary_key=True),
        _ref("notification_id", "notification.id", nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(512), nullable=False),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.String(128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_at"),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        _ts("lease_until", nullable=True),
        sa.Column("provider_id", sa.String(128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("sent_at", nullable=True),
        _ts("delivered_at", nullable=True),
    )
    op.create_index(op.f("ix_delivery_notification_id"), "delivery", ["notification_id"])
    op.create_index(op.f("ix_delivery_status_next_at"), "delivery", ["status", "next_at"])
    op.create_table(
        "contact",
        _id(primary_key=True),
        _ref("worker_id", "worker.id", unique=True),
        _ref("user_id", "app_user.id", unique=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("email", sa.String(256), nullable=True),
        sa.Column("wecom_user", sa.String(64), nullable=True),
        _json("channels"),
        sa.Column("quiet_hours", sa.String(16), nullable=True),
        sa.Column("lang", sa.String(16), nullable=True),
        _ts("updated_at"),
        sa.CheckConstraint("(worker_id IS NULL) != (user_id IS NULL)", name=op.f("ck_contact_one_person")),
    )
    op.create_table(
        "robot",
        _id(primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("webhook", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(128), nullable=True),
        sa.Column("area_code", sa.String(32), nullable=True),
        _json("kinds", nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "message_template",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("lang", sa.String(16), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        _ts("updated_at"),
        sa.Column("updated_by", sa.String(128), nullable=True),
    )
    op.create_table(
        "message_setting",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        _ts("updated_at"),
        sa.Column("updated_by", sa.String(128), nullable=True),
    )
    op.create_table(
        "one_time_code",
        _id(primary_key=True),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        _ts("created_at"),
        _ts("expires_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("used_at", nullable=True),
    )
    op.create_index(op.f("ix_one_time_code_phone"), "one_time_code", ["phone"])


def downgrade() -> None:
    for table in ("one_time_code", "message_setting", "message_template", "robot", "contact", "delivery"):
        op.drop_table(table)
    op.drop_index(op.f("ix_incident_warn_at"), table_name="incident")
    for column in ("warned_pct", "warn_at"):
        op.drop_column("incident", column)  # in place (SQLite 3.35+): a batch rebuild would lose the triggers
    op.drop_index(op.f("ix_notification_user_id"), table_name="notification")
    op.drop_index(op.f("ix_notification_fanned_at"), table_name="notification")
    for column in ("fanned_at", "urgent", "data", "phone"):
        op.drop_column("notification", column)
