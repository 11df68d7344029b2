"""Schema v1: areas and their versions, buildings, workers, categories,
incidents with their append-only history, tasks.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SRID = 4326  # fixed here, never read from settings: a migration must not change with configuration


def _id(name: str = "id", **kw) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), **kw)


def _ref(name: str, target: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.ForeignKey(target), nullable=nullable)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True)


def _geom(name: str, kind: str, nullable: bool) -> sa.Column:
    return sa.Column(name, Geometry(geometry_type=kind, srid=SRID, spatial_index=False, nullable=nullable), nullable=nullable)


def _spatial_index(table: str, column: str) -> None:
    # GiST on PostGIS, the R*Tree (CreateSpatialIndex) on SpatiaLite
    op.create_geospatial_index(f"idx_{table}_{column}", table, [column], postgresql_using="gist")


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _is_postgres():
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "area_level",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("name_en", sa.String(64), nullable=False),
        sa.Column("depth", sa.SmallInteger(), nullable=False, unique=True),
        sa.Column("code_digits", sa.SmallInteger(), nullable=False),
        sa.Column("optional", sa.Boolean(), nullable=False),
        sa.Column("households_min", sa.Integer()),
        sa.Column("households_max", sa.Integer()),
    )
    op.create_table(
        "layer",
        _id(primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text()),
        _ts("created_at"),
    )
    op.create_table(
        "boundary_version",
        _id(primary_key=True),
        _ref("layer_id", "layer.id", nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("effective_from"),
        _ts("published_at", nullable=True),
        sa.Column("source", sa.String(512)),
        sa.Column("note", sa.Text()),
        sa.Column("created_by", sa.String(64)),
        _ts("created_at"),
        sa.UniqueConstraint("layer_id", "number"),
    )
    op.create_index(op.f("ix_boundary_version_layer_id_status_effective_from"), "boundary_version", ["layer_id", "status", "effective_from"])

    op.create_geospatial_table(
        "area",
        _id(primary_key=True),
        _ref("version_id", "boundary_version.id", nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("level", sa.String(32), sa.ForeignKey("area_level.code"), nullable=False),
        _ref("parent_id", "area.id"),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer()),
        _json("attributes"),
        _geom("geom", "MULTIPOLYGON", nullable=False),
        sa.UniqueConstraint("version_id", "code"),
        sa.CheckConstraint("households >= 0", name="households_nonnegative"),
    )
    _spatial_index("area", "geom")
    op.create_index(op.f("ix_area_code"), "area", ["code"])
    op.create_index(op.f("ix_area_parent_id"), "area", ["parent_id"])
    op.create_index(op.f("ix_area_version_id_level"), "area", ["version_id", "level"])

    op.create_geospatial_table(
        "building",
        _id(primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(128)),
        sa.Column("address", sa.String(256)),
        sa.Column("address_norm", sa.String(256)),
        sa.Column("compound", sa.String(128)),
        sa.Column("use", sa.String(32), nullable=False),
        sa.Column("floors", sa.SmallInteger()),
        sa.Column("households", sa.Integer(), nullable=False),
        _json("attributes"),
        _geom("location", "POINT", nullable=False),
        _geom("footprint", "MULTIPOLYGON", nullable=True),
        _ts("updated_at"),
        sa.CheckConstraint("households >= 0", name="households_nonnegative"),
    )
    _spatial_index("building", "location")
    _spatial_index("building", "footprint")
    op.create_index(op.f("ix_building_address_norm"), "building", ["address_norm"])

    op.create_table(
        "household",
        _id(primary_key=True),
        sa.Column("code", sa.String(48), nullable=False, unique=True),
        _ref("building_id", "building.id", nullable=False),
        sa.Column("unit", sa.String(16)),
        sa.Column("floor", sa.SmallInteger()),
        sa.Column("room", sa.String(16)),
        sa.Column("persons", sa.SmallInteger()),
        _json("tags"),
    )
    op.create_index(op.f("ix_household_building_id"), "household", ["building_id"])

    op.create_geospatial_table(
        "road",
        _id(primary_key=True),
        sa.Column("name", sa.String(128)),
        sa.Column("kind", sa.String(16), nullable=False),
        _json("attributes"),
        _geom("geom", "LINESTRING", nullable=False),
    )
    _spatial_index("road", "geom")

    op.create_table(
        "department",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("name_en", sa.String(128)),
        sa.Column("phone", sa.String(32)),
    )
    op.create_table(
        "category",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("name_en", sa.String(128), nullable=False),
        sa.Column("group_code", sa.String(64)),
        sa.Column("description", sa.Text()),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("time_limit_minutes", sa.Integer(), nullable=False),
        sa.Column("working_time", sa.Boolean(), nullable=False),
        sa.Column("handler", sa.String(16), nullable=False),
        sa.Column("department_code", sa.String(32), sa.ForeignKey("department.code")),
        sa.Column("dedupe_radius_m", sa.Float()),
        sa.Column("dedupe_window_hours", sa.Float()),
        sa.Column("keywords", sa.String(256)),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("time_limit_minutes > 0", name="time_limit_positive"),
    )

    op.create_geospatial_table(
        "worker",
        _id(primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(32)),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("department_code", sa.String(32), sa.ForeignKey("department.code")),
        sa.Column("active", sa.Boolean(), nullable=False),
        _geom("last_position", "POINT", nullable=True),
        _ts("last_seen_at", nullable=True),
    )
    _spatial_index("worker", "last_position")

    op.create_table(
        "assignment",
        _id(primary_key=True),
        _ref("worker_id", "worker.id", nullable=False),
        _ref("layer_id", "layer.id", nullable=False),
        sa.Column("area_code", sa.String(32), nullable=False),
        sa.Column("duty", sa.String(16), nullable=False),
        _ts("valid_from"),
        _ts("valid_to", nullable=True),
    )
    op.create_index(op.f("ix_assignment_worker_id"), "assignment", ["worker_id"])
    op.create_index(op.f("ix_assignment_layer_id_area_code"), "assignment", ["layer_id", "area_code"])

    op.create_table(
        "shift",
        _id(primary_key=True),
        _ref("worker_id", "worker.id", nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
    )
    op.create_index(op.f("ix_shift_worker_id"), "shift", ["worker_id"])

    op.create_table(
        "calendar_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64)),
    )

    op.create_geospatial_table(
        "incident",
        _id(primary_key=True),
        sa.Column("category_code", sa.String(64), sa.ForeignKey("category.code"), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("reporter_name", sa.String(64)),
        sa.Column("reporter_contact", sa.String(64)),
        _geom("location", "POINT", nullable=False),
        sa.Column("original_x", sa.Float()),
        sa.Column("original_y", sa.Float()),
        sa.Column("original_crs", sa.String(16)),
        sa.Column("address_text", sa.String(256)),
        _ref("building_id", "building.id"),
        _ref("household_id", "household.id"),
        sa.Column("location_status", sa.String(16), nullable=False),
        sa.Column("snap_distance_m", sa.Float()),
        _ref("boundary_version_id", "boundary_version.id", nullable=False),
        _ref("grid_id", "area.id", nullable=False),
        _ref("micro_grid_id", "area.id"),
        _ref("assignee_id", "worker.id"),
        sa.Column("department_code", sa.String(32), sa.ForeignKey("department.code")),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("routing_reason", sa.String(256)),
        _ts("reported_at"),
        _ts("due_at"),
        _ts("closed_at", nullable=True),
        _ts("updated_at"),
        _ref("merged_into_id", "incident.id"),
        sa.Column("rating", sa.SmallInteger()),
        sa.Column("rating_comment", sa.Text()),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
    )
    _spatial_index("incident", "location")
    op.create_index(op.f("ix_incident_assignee_id"), "incident", ["assignee_id"])
    op.create_index(op.f("ix_incident_status_due_at"), "incident", ["status", "due_at"])
    op.create_index(op.f("ix_incident_grid_id_status"), "incident", ["grid_id", "status"])
    op.create_index(op.f("ix_incident_reported_at"), "incident", ["reported_at"])
    op.create_index(op.f("ix_incident_category_code_reported_at"), "incident", ["category_code", "reported_at"])

    op.create_geospatial_table(
        "incident_event",
        _id(primary_key=True),
        _ref("incident_id", "incident.id", nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        _ts("at"),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16)),
        _ref("actor_id", "worker.id"),
        sa.Column("actor_label", sa.String(64), nullable=False),
        sa.Column("note", sa.Text()),
        _geom("location", "POINT", nullable=True),
        _json("data"),
        sa.UniqueConstraint("incident_id", "seq"),
    )
    _spatial_index("incident_event", "location")
    _forbid_changes("incident_event")

    op.create_table(
        "attachment",
        _id(primary_key=True),
        _ref("incident_id", "incident.id", nullable=False),
        _ref("event_id", "incident_event.id"),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        _ts("created_at"),
    )
    op.create_index(op.f("ix_attachment_incident_id"), "attachment", ["incident_id"])

    op.create_table(
        "incident_follower",
        _id(primary_key=True),
        _ref("incident_id", "incident.id", nullable=False),
        sa.Column("name", sa.String(64)),
        sa.Column("contact", sa.String(64)),
        _ref("source_incident_id", "incident.id"),
        _ts("added_at"),
    )
    op.create_index(op.f("ix_incident_follower_incident_id"), "incident_follower", ["incident_id"])

    op.create_table(
        "idempotency_record",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(256), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        _ts("created_at"),
    )

    op.create_geospatial_table(
        "task",
        _id(primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ref("incident_id", "incident.id"),
        _ref("worker_id", "worker.id"),
        sa.Column("area_code", sa.String(32)),
        _ref("building_id", "building.id"),
        _ref("household_id", "household.id"),
        _geom("location", "POINT", nullable=True),
        _ts("scheduled_for", nullable=True),
        _ts("due_at", nullable=True),
        _ts("completed_at", nullable=True),
        sa.Column("note", sa.Text()),
        _ts("created_at"),
    )
    _spatial_index("task", "location")
    op.create_index(op.f("ix_task_incident_id"), "task", ["incident_id"])
    op.create_index(op.f("ix_task_worker_id_status"), "task", ["worker_id", "status"])
    op.create_index(op.f("ix_task_area_code_scheduled_for"), "task", ["area_code", "scheduled_for"])


def _forbid_changes(table: str) -> None:
    """The audit trail is append-only in the database itself, not only in the code."""
    message = f"{table} is append-only: history is never updated or deleted"
    if _is_postgres():
        op.execute(
            f"""
            CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation';
            END $$;
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )


def _allow_changes(table: str) -> None:
    if _is_postgres():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def downgrade() -> None:
    _allow_changes("incident_event")
    for table in (
        "task", "idempotency_record", "incident_follower", "attachment", "incident_event", "incident",
        "calendar_day", "shift", "assignment", "worker", "category", "department", "road",
        "household", "building", "area", "boundary_version", "layer", "area_level",
    ):
        op.drop_table(table)
