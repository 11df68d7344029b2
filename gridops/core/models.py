"""The data model (schema v1), one set of models for PostGIS and SpatiaLite.

Areas are copied whole into each boundary version: a published version never
changes, so "as of" lookups and the version an incident was placed with stay
exact. Things that must outlive a redraw (worker assignments, patrol targets)
refer to an area by its stable code, not its row.

The whole schema is one module (~520 lines) on purpose: one metadata that the
migrations compare against, and every foreign key readable where it points.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from geoalchemy2 import Geometry
from geoalchemy2.elements import WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from gridops.geo.crs import STORAGE_SRID

from gridops.core.types import BigId, JsonDoc, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _geom(kind: str) -> Geometry:
    return Geometry(geometry_type=kind, srid=STORAGE_SRID, spatial_index=True)


class AreaLevel(Base):
    """A level of the area tree. Levels are data: cities have four, five or six."""

    __tablename__ = "area_level"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)  # district, street, community, cluster, grid, micro_grid
    name: Mapped[str] = mapped_column(String(64))  # 区, 街道, 社区, 小分格, 网格, 微网格
    name_en: Mapped[str] = mapped_column(String(64))
    depth: Mapped[int] = mapped_column(SmallInteger, unique=True)
    # digits this level appends to its parent's code (district: the 6-digit admin code)
    code_digits: Mapped[int] = mapped_column(SmallInteger)
    optional: Mapped[bool] = mapped_column(Boolean, default=False)
    households_min: Mapped[int | None] = mapped_column(Integer)
    households_max: Mapped[int | None] = mapped_column(Integer)


class Layer(Base):
    """A set of areas drawn for one purpose (community grids, police grids…; 三格融合)."""

    __tablename__ = "layer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BoundaryVersion(Base):
    """One published (or draft) set of a layer's areas, effective from a time."""

    __tablename__ = "boundary_version"
    __table_args__ = (
        UniqueConstraint("layer_id", "number"),
        Index(None, "layer_id", "status", "effective_from"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layer.id"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # draft, published, withdrawn
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str | None] = mapped_column(String(512))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    layer: Mapped[Layer] = relationship()


class Area(Base):
    """One node of the area tree within one boundary version."""

    __tablename__ = "area"
    __table_args__ = (
        UniqueConstraint("version_id", "code"),
        Index(None, "version_id", "level"),
        Index(None, "code"),
        CheckConstraint("households >= 0", name="households_nonnegative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("boundary_version.id"))
    code: Mapped[str] = mapped_column(String(32))  # hierarchical: a child's code starts with its parent's
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(ForeignKey("area_level.code"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    households: Mapped[int] = mapped_column(Integer, default=0)
    population: Mapped[int | None] = mapped_column(Integer)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    geom: Mapped[WKBElement] = mapped_column(_geom("MULTIPOLYGON"), nullable=False)

    version: Mapped[BoundaryVersion] = relationship()
    parent: Mapped[Area | None] = relationship(remote_side=[id])


class Building(Base):
    """A building (or address point) with its households: what planners partition
    and what the QR code on a door points to."""

    __tablename__ = "building"
    __table_args__ = (CheckConstraint("households >= 0", name="households_nonnegative"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(256))
    address_norm: Mapped[str | None] = mapped_column(String(256), index=True)
    compound: Mapped[str | None] = mapped_column(String(128))  # 小区
    use: Mapped[str] = mapped_column(String(32), default="residential")
    floors: Mapped[int | None] = mapped_column(SmallInteger)
    households: Mapped[int] = mapped_column(Integer, default=0)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    location: Mapped[WKBElement] = mapped_column(_geom("POINT"), nullable=False)  # entrance / address point
    footprint: Mapped[WKBElement | None] = mapped_column(_geom("MULTIPOLYGON"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Household(Base):
    """One household (户), reachable by the code on its door."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    unit: Mapped[str | None] = mapped_column(String(16))  # 单元
    floor: Mapped[int | None] = mapped_column(SmallInteger)
    room: Mapped[str | None] = mapped_column(String(16))  # 室
    persons: Mapped[int | None] = mapped_column(SmallInteger)
    tags: Mapped[list[str] | None] = mapped_column(JsonDoc)  # elderly_alone, disabled, … (special groups)


class Road(Base):
    """A segment of the street network: grid boundaries follow it, routing walks it."""

    __tablename__ = "road"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # arterial, local, lane
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    geom: Mapped[WKBElement] = mapped_column(_geom("LINESTRING"), nullable=False)


class Department(Base):
    """A functional department (职能部门) that takes what the grid cannot solve."""

    __tablename__ = "department"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str | None] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32))
    # its own office day, e.g. "09:00-12:00,14:00-18:00" (none: the city's, GRIDOPS_OFFICE_HOURS)
    office_hours: Mapped[str | None] = mapped_column(String(64))


class CategoryGroup(Base):
    """A class of categories (大类), as an event taxonomy (GB/T 30428-style: 大类 → 小类) groups them."""

    __tablename__ = "category_group"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)  # dispute, hazard, … or a taxonomy's "01"
    name: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str | None] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer, default=0)  # the order lists and pickers show the classes in


class Category(Base):
    """An incident category (小类): its urgency, its time limits per stage and who handles it."""

    __tablename__ = "category"
    __table_args__ = (
        CheckConstraint("time_limit_minutes > 0", name="time_limit_positive"),
        CheckConstraint("accept_limit_minutes IS NULL OR accept_limit_minutes > 0", name="accept_limit_positive"),
        CheckConstraint("verify_limit_minutes IS NULL OR verify_limit_minutes > 0", name="verify_limit_positive"),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(128))
    group_code: Mapped[str | None] = mapped_column(ForeignKey("category_group.code"))  # its 大类
    description: Mapped[str | None] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16))  # critical, urgent, normal, low
    # the stages' limits (none: the stage has no limit of its own): accept (受理) counted from the report,
    # handle (处置, to resolution; the incident's due_at) from the report, verify (核查) from the resolution
    accept_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    time_limit_minutes: Mapped[int] = mapped_column(Integer)
    verify_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    working_time: Mapped[bool] = mapped_column(Boolean, default=False)  # limit counts working hours only
    handler: Mapped[str] = mapped_column(String(16))  # grid, department
    department_code: Mapped[str | None] = mapped_column(ForeignKey("department.code"))
    dedupe_radius_m: Mapped[float | None] = mapped_column(Float)
    dedupe_window_hours: Mapped[float | None] = mapped_column(Float)
    keywords: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    public: Mapped[bool] = mapped_column(Boolean, default=True)  # anonymous Open311 clients list its reports
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)  # its free text is never shown publicly
    separate_verifier: Mapped[bool] = mapped_column(Boolean, default=True)  # the resolver may not verify or close


class Worker(Base):
    """A person who takes work: grid worker (网格员), grid leader (网格长), staff."""

    __tablename__ = "worker"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # 工号
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32))  # grid_worker, grid_leader, community_staff, department_staff, supervisor
    department_code: Mapped[str | None] = mapped_column(ForeignKey("department.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_position: Mapped[WKBElement | None] = mapped_column(_geom("POINT"), nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Assignment(Base):
    """A worker answers for an area (by stable code, so it survives a redraw)."""

    __tablename__ = "assignment"
    __table_args__ = (Index(None, "layer_id", "area_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), index=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layer.id"))
    area_code: Mapped[str] = mapped_column(String(32))
    duty: Mapped[str] = mapped_column(String(16))  # primary, backup, leader
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @classmethod
    def not_ended(cls, at: Any) -> ColumnElement[bool]:
        """In SQL: the assignment has not ended by `at` (a time, or a column such as an incident's report time)."""
        return or_(cls.valid_to.is_(None), cls.valid_to > at)

    @classmethod
    def in_force(cls, at: Any) -> ColumnElement[bool]:
        """In SQL: the assignment holds at `at` (reference.data.AssignmentRef.valid is the same rule in memory)."""
        return and_(cls.valid_from <= at, cls.not_ended(at))


class Shift(Base):
    """A weekly on-duty window, in the city's local time."""

    __tablename__ = "shift"
    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)


class RosterDay(Base):
    """One day of a worker's rota that is not their weekly pattern (排班调整): the windows they work that day,
    or none (`off`: leave 请假, or a shift given away in a swap 换班). Rows of one worker and day replace the week's."""

    __tablename__ = "roster_day"
    __table_args__ = (Index(None, "worker_id", "day"), Index(None, "day"),
                      CheckConstraint("kind IN ('shift', 'off')", name="kind_known"),
                      CheckConstraint("(kind = 'off') = (start_time IS NULL AND end_time IS NULL)", name="times_iff_shift"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    day: Mapped[date] = mapped_column(Date)  # the city's day the window starts on
    kind: Mapped[str] = mapped_column(String(8))  # shift, off
    start_time: Mapped[time | None] = mapped_column(Time)
    end_time: Mapped[time | None] = mapped_column(Time)  # before start: runs past midnight
    reason: Mapped[str] = mapped_column(String(16))  # leave, swap, change
    swap_with_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))


class CalendarDay(Base):
    """An exception to the Monday–Friday week: a public holiday or a make-up workday (调休)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # holiday, workday
    name: Mapped[str | None] = mapped_column(String(64))


class Incident(Base):
    """One report, placed in its grid and driven through the closed loop."""

    __tablename__ = "incident"
    __table_args__ = (
        Index(None, "status", "due_at"),
        Index(None, "grid_id", "status"),
        Index(None, "assignee_id", "status"),  # open work per worker (migration 0006)
        Index(None, "reported_at"),
        Index(None, "reported_at", "h3_cell"),  # the risk maps count by cell and week (migration 0007)
        Index(None, "reported_day", "h3_cell"),  # … by cell and local day (migration 0009)
        Index(None, "category_code", "reported_at"),
        Index(None, "token", unique=True),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))  # app, qr, photo, hotline, patrol, open311
    reporter_name: Mapped[str | None] = mapped_column(String(64))
    reporter_contact: Mapped[str | None] = mapped_column(String(64))
    # where: WGS-84 for the map, and the coordinates exactly as reported
    location: Mapped[WKBElement] = mapped_column(_geom("POINT"), nullable=False)
    original_x: Mapped[float | None] = mapped_column(Float)
    original_y: Mapped[float | None] = mapped_column(Float)
    original_crs: Mapped[str | None] = mapped_column(String(16))
    address_text: Mapped[str | None] = mapped_column(String(256))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    location_status: Mapped[str] = mapped_column(String(16))  # inside, on_boundary, snapped
    snap_distance_m: Mapped[float | None] = mapped_column(Float)
    boundary_version_id: Mapped[int] = mapped_column(ForeignKey("boundary_version.id"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    micro_grid_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    # who answers for it
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("department.code"))
    tier: Mapped[str] = mapped_column(String(16), default="grid")  # grid, community, street, district
    routing_reason: Mapped[str | None] = mapped_column(String(256))
    # when
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # to be resolved by (处置时限)
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # to be accepted by (受理时限)
    verify_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # to be verified by, once resolved (核查时限)
    # the limits it was reported under (a category's later change applies to later reports): a reopening and
    # an escalation count these again; none on rows older than migration 0020 (it filled them in)
    limit_minutes: Mapped[int | None] = mapped_column(Integer)
    verify_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    limit_working: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    rating: Mapped[int | None] = mapped_column(SmallInteger)  # 1–5, the resident's 评价
    rating_comment: Mapped[str | None] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    token: Mapped[str | None] = mapped_column(String(40))  # Open311's receipt (unique index below)
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    supervised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 督办: overdue and watched
    # the next pre-due warning (50%, then 75% of the handling limit) and the last one sent (0, 50, 75)
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    warned_pct: Mapped[int] = mapped_column(SmallInteger, default=0)
    h3_cell: Mapped[int | None] = mapped_column(BigInteger)  # H3 cell of the location (geo.hexes.STORED_RES)
    reported_day: Mapped[date | None] = mapped_column(Date)  # the local day (city time zone) it was reported

    __mapper_args__ = {"version_id_col": lock_version}


class IncidentEvent(Base):
    """One step of an incident's history. Append-only: triggers refuse UPDATE and DELETE."""

    __tablename__ = "incident_event"
    __table_args__ = (UniqueConstraint("incident_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    device_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the phone says it was done (sent later, offline)
    action: Mapped[str] = mapped_column(String(32))  # report, or a step of the loop (gridops.incidents.loop.STEPS)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))
    actor_label: Mapped[str] = mapped_column(String(64))  # worker code, "resident", "system"
    note: Mapped[str | None] = mapped_column(Text)
    location: Mapped[WKBElement | None] = mapped_column(_geom("POINT"), nullable=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)


class Attachment(Base):
    """A photo or file stored under the instance folder by its content hash."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("incident_event.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # indexed: the same photo on another incident is looked up
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IncidentFlag(Base):
    """Something a resolution's photos say that does not fit the incident (taken before it was reported,
    far from it, already used to resolve another): shown to those who verify, never a refusal."""

    __tablename__ = "incident_flag"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("incident_event.id"))  # the step whose photos it is about
    kind: Mapped[str] = mapped_column(String(32))  # gridops.incidents.flags.KINDS
    sha256: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class IncidentFollower(Base):
    """Someone kept informed: the reporter of a merged duplicate, a neighbour."""

    __tablename__ = "incident_follower"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    contact: Mapped[str | None] = mapped_column(String(64))
    source_incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdempotencyRecord(Base):
    """The first answer to a request sent with an Idempotency-Key, replayed on retry."""

    __tablename__ = "idempotency_record"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(256))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Task(Base):
    """A unit of work for one worker: an incident to handle or a patrol visit."""

    __tablename__ = "task"
    __table_args__ = (Index(None, "worker_id", "status"), Index(None, "area_code", "scheduled_for"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # incident, patrol
    title: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))  # open, accepted, done, cancelled
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))
    area_code: Mapped[str | None] = mapped_column(String(32))  # the grid the work lies in
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    location: Mapped[WKBElement | None] = mapped_column(_geom("POINT"), nullable=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    patrol_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_register.id"))
    away_reason: Mapped[str | None] = mapped_column(Text)  # a visit recorded away from the door: why (电话回访 …)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_order.id"), index=True)  # a patrol ordered from a hot spot
    checklist: Mapped[list[str] | None] = mapped_column(JsonDoc)  # what that patrol looks at (per category)
    device_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a visit: when the phone says it was made


class PatrolOrder(Base):
    """Patrols ordered from a hot spot (派发巡查): who ordered them, when, for which category, over which H3 cells
    and micro-grids, with which checklist. Its tasks (Task.order_id) are the visits; the order itself is the
    record of the command: kept as made, and the date the risk page measures "cooled since" from."""

    __tablename__ = "patrol_order"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_label: Mapped[str] = mapped_column(String(96))
    category: Mapped[str | None] = mapped_column(String(64))  # a category, a group, or none (all)
    res: Mapped[int] = mapped_column(SmallInteger)
    cells: Mapped[list[str]] = mapped_column(JsonDoc)  # the hot spot's H3 cells (hex) at `res`
    micro_grids: Mapped[list[str]] = mapped_column(JsonDoc)  # the micro-grid codes patrolled
    checklist: Mapped[list[str]] = mapped_column(JsonDoc)
    title: Mapped[str] = mapped_column(String(256))
    note: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AppUser(Base):
    """Someone who signs in: a resident, a worker, staff. Only a hash of the token is kept."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))  # a role of gridops.access.policy.ROLES
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("department.code"))
    phone: Mapped[str | None] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # their own language (zh_Hans_CN or en), chosen with a page's language switch; none: the browser's, Chinese
    language: Mapped[str | None] = mapped_column(String(16))


class UserArea(Base):
    """An area a user answers for; codes are hierarchical, so a community covers its grids."""

    __tablename__ = "user_area"
    __table_args__ = (UniqueConstraint("user_id", "area_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    area_code: Mapped[str] = mapped_column(String(32))


class PageSession(Base):
    """A signed-in page: the cookie holds the random id (only its hash is here), never the API token."""

    __tablename__ = "page_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # signed out


class ShiftPass(Base):
    """A sign-in for one shift, shown as a QR code on the admin's page: opening its link on a phone (once, within
    minutes) starts a page session that ends with the shift; the admin can revoke it. Only the link's hash is kept."""

    __tablename__ = "shift_pass"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    made_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scan_by: Mapped[datetime] = mapped_column(UTCDateTime)  # the link opens a session until then, once
    shift_ends_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the session it opens ends then
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_hash: Mapped[str | None] = mapped_column(String(64))  # the page session it opened
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(Base):
    """A message to a person: a new task, a warning, an answer to a resident. The outbox: written in the
    transaction of the step that causes it; a dispatcher (gridops.messages) fans it out to the person's
    channels once (`fanned_at`) and delivers each copy (`delivery`). In the app it is read as it is."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))  # a resident with no account: SMS only
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    kind: Mapped[str] = mapped_column(String(32))  # a kind of gridops.messages.kinds.KINDS
    message: Mapped[str] = mapped_column(Text)  # the text in Chinese, as the app shows it when no template renders
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)  # the template's fields
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)  # sent in quiet hours too
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # copies made for its channels
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One copy of a notification on one channel, and what became of it (queued, sent, delivered, failed)."""

    __tablename__ = "delivery"
    __table_args__ = (Index(None, "status", "next_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms, wecom, wecom_robot, dingtalk, email
    address: Mapped[str] = mapped_column(String(512))  # a phone, a WeCom userid, an e-mail, a robot's id
    key: Mapped[str] = mapped_column(String(64), unique=True)  # the delivery key a gateway drops repeats by
    title: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)  # rendered once, so every try sends the same words
    status: Mapped[str] = mapped_column(String(16))  # queued, sent, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)  # not before (a retry's backoff, quiet hours)
    held: Mapped[bool] = mapped_column(Boolean, default=False)  # waiting for quiet hours to end
    lease_owner: Mapped[str | None] = mapped_column(String(64))  # the dispatcher sending it now
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # … which another may take it after
    provider_id: Mapped[str | None] = mapped_column(String(128))  # the gateway's message id
    error: Mapped[str | None] = mapped_column(Text)  # the last failure, in the gateway's words
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Contact(Base):
    """How a person is reached: addresses per channel, the channels they chose, quiet hours, language."""

    __tablename__ = "contact"
    __table_args__ = (CheckConstraint("(worker_id IS NULL) != (user_id IS NULL)", name="one_person"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))  # none: the worker's or user's own
    email: Mapped[str | None] = mapped_column(String(256))
    wecom_user: Mapped[str | None] = mapped_column(String(64))  # 企业微信 userid (none: the worker's 工号)
    channels: Mapped[list[str] | None] = mapped_column(JsonDoc)  # in order of preference; none: the defaults
    quiet_hours: Mapped[str | None] = mapped_column(String(16))  # "22:00-07:00"; "" none; NULL the city's
    lang: Mapped[str | None] = mapped_column(String(16))  # zh_Hans_CN (default) or en
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Robot(Base):
    """A group chat's robot (企业微信群机器人, 钉钉机器人) told of the kinds of message it was set for,
    for incidents on its ground (an area and everything below it; none: the whole city)."""

    __tablename__ = "robot"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))  # wecom_robot, dingtalk
    webhook: Mapped[str] = mapped_column(Text)  # the robot's URL with its key or access token
    secret: Mapped[str | None] = mapped_column(String(128))  # DingTalk's 加签 secret
    area_code: Mapped[str | None] = mapped_column(String(32))
    kinds: Mapped[list[str]] = mapped_column(JsonDoc)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageTemplate(Base):
    """An admin's wording of one kind of message in one language (the built-in one otherwise)."""

    __tablename__ = "message_template"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    lang: Mapped[str] = mapped_column(String(16), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(128))


class MessageSetting(Base):
    """A channel's setting made on the admin page; it wins over the environment's."""

    __tablename__ = "message_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(128))


class OneTimeCode(Base):
    """A sign-in code sent by SMS: only its hash is kept; it expires and counts wrong tries."""

    __tablename__ = "one_time_code"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))  # the client's IP it was asked from
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StreamEvent(Base):
    """Every state change, in order: the live map's feed, resumable by id, shared by all processes."""

    __tablename__ = "stream_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)


class PatrolRegister(Base):
    """Someone who needs regular visits (独居老人, 留守儿童…): visits become tasks."""

    __tablename__ = "patrol_register"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"))
    kind: Mapped[str] = mapped_column(String(32))  # elderly_alone, left_behind_child, disabled, …
    person: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(String(32))  # 身份证号: masked for all but staff
    interval_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused_until: Mapped[date | None] = mapped_column(Date)  # no visits through this day (in hospital, away)
    last_visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReferenceStamp(Base):
    """One row, changed by database triggers whenever what routing reads changes (migration 0004)."""

    __tablename__ = "reference_stamp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)


class PlanDraft(Base):
    """A planner's proposed grids and micro-grids for one community, before it is published.

    The plan is kept as which grid and micro-grid each building goes to: the
    boundaries follow from the buildings' cells, so an edit never leaves a
    building split or a gap behind. Publishing makes it a boundary version.
    """

    __tablename__ = "plan_draft"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layer.id"))
    community_code: Mapped[str] = mapped_column(String(32), index=True)
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("boundary_version.id"))  # the version it was drawn against
    status: Mapped[str] = mapped_column(String(16))  # draft, published, discarded
    method: Mapped[str] = mapped_column(String(16))  # generate, rebalance, copy
    settings: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # household bounds of grids and micro-grids
    assignment: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # building code -> [grid code, micro-grid code]
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    problems: Mapped[list[Any] | None] = mapped_column(JsonDoc)
    revision: Mapped[int] = mapped_column(Integer)  # one more per change: two planners' edits never overwrite each other
    published_version_id: Mapped[int | None] = mapped_column(ForeignKey("boundary_version.id"))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": revision}


class ReferenceChange(Base):
    """One change to reference data (a worker, an assignment, a calendar day…): who, when, what before
    and what after. Append-only: triggers refuse UPDATE and DELETE (migration 0017)."""

    __tablename__ = "reference_change"
    __table_args__ = (Index(None, "kind", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(96))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(96))
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    note: Mapped[str | None] = mapped_column(Text)
