"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# the largest id either backend stores (a signed 64-bit integer); a larger one names no row
STORED_ID_MAX = 2**63 - 1


def stored_id(text: str) -> int | None:
    """An id as typed in a URL or a list (ASCII digits, 64 bits), or None: `'²'.isdigit()` and `int('３')`
    accept what no id is, and a longer number overflows the query instead of finding nothing."""
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= STORED_ID_MAX else None

# JSONB on PostgreSQL (indexable, compact); JSON text on SQLite.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """An aware datetime in, an aware UTC datetime out, on either backend.

    PostgreSQL keeps timestamptz; SQLite has no time zones, so values are stored
    as naive UTC text and given their zone back on the way out. Naive input is
    refused: a deadline computed in the wrong zone is a silent eight-hour bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: gridops stores aware datetimes only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
