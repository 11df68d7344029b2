"""Many rows in few statements, cheaply, on either backend.

Intake stores a batch of reports in one transaction. On PostgreSQL a multi-row
`INSERT … VALUES (…), (…)` has a different text for every batch size: psycopg
parses each one afresh and the server plans each one afresh, and that was the
largest single cost of a stored report. Here a table's rows are one statement
whose text never changes — `INSERT … SELECT FROM unnest($1::type[], $2::type[], …)`,
one array per column, sent in binary — so psycopg caches its conversion, no
value is escaped as text, and the server keeps the statement prepared. Ids are
drawn from the table's sequence in the same statement and answered in the rows'
order, without relying on the order of RETURNING. Rows of several tables whose
ids nobody needs go in one statement (one data-modifying CTE a table): one round
trip for a report's event, task, notification and idempotency record together.

On SQLite the rows go through SQLAlchemy's multi-row insert, a table at a time
(an in-process call: there is no round trip to save).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import shapely
from geoalchemy2 import Geometry
from geoalchemy2.elements import WKBElement
from sqlalchemy import JSON, Table, insert
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID

if TYPE_CHECKING:
    from psycopg import Cursor
    from sqlalchemy.sql.schema import ScalarElementColumnDefault
    from sqlalchemy.types import TypeEngine

__all__ = ["bulk_cursor", "insert_rows", "insert_tables"]

_PG = postgresql.dialect()
Rows = Sequence[dict[str, Any]]


def insert_rows(session: Session, table: Table, rows: Rows, *, ids: bool = False) -> list[int]:
    """Insert `rows` (dicts with the same keys) into `table`; with `ids`, their new ids in the rows' order."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        return _sa_insert(session, table, rows, ids)
    names, params = _arrays(table, rows, "c")
    with bulk_cursor(session) as cursor:
        if not ids:
            cursor.execute(_unnest_insert(table, names, "c"), params)
            return []
        cursor.execute(_insert_with_ids(table, names, _sequence(cursor, table.name)), params)
        return [r[0] for r in cursor.fetchall()]


def insert_tables(session: Session, parts: Sequence[tuple[Table, Rows]]) -> None:
    """Insert the rows of several tables (ids not needed) in one statement where the backend allows."""
    parts = [(t, rows) for t, rows in parts if rows]
    if not parts:
        return
    if session.get_bind().dialect.name != "postgresql":
        for table, rows in parts:
            _sa_insert(session, table, rows, False)
        return
    if len(parts) == 1:
        insert_rows(session, *parts[0])
        return
    shapes, params = [], {}
    for k, (table, rows) in enumerate(parts):
        names, p = _arrays(table, rows, f"t{k}c")
        shapes.append((table, names))
        params.update(p)
    with bulk_cursor(session) as cursor:
        cursor.execute(_together(tuple(shapes)), params)


def _sa_insert(session: Session, table: Table, rows: Rows, ids: bool) -> list[int]:
    if ids:
        result = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), list(rows))
        return [r[0] for r in result]
    # RETURNING makes SQLAlchemy send one multi-VALUES statement rather than one per row
    session.execute(insert(table).returning(*table.primary_key.columns), list(rows)).all()
    return []


def bulk_cursor(session: Session) -> Cursor[Any]:
    """The psycopg cursor of the session's own connection (same transaction), without SQLAlchemy's
    per-statement result machinery, which these statements do not need (PostgreSQL only)."""
    driver = session.connection().connection.driver_connection
    assert driver is not None  # None only once the pooled connection is closed, and the session's is open
    return cast("Cursor[Any]", driver.cursor())


def _arrays(table: Table, rows: Rows, prefix: str) -> tuple[tuple[str, ...], dict[str, list[Any]]]:
    names = tuple(rows[0])
    defaults = _defaults(table, names)
    if defaults:  # what SQLAlchemy's insert would fill in
        rows = [{**r, **defaults} for r in rows]
        names = (*names, *defaults)
    return names, {f"{prefix}{k}": _column_values(table.c[n].type, [r[n] for r in rows]) for k, n in enumerate(names)}


def _defaults(table: Table, names: tuple[str, ...]) -> dict[str, Any]:
    # is_scalar: a ScalarElementColumnDefault, whose `arg` is the value itself
    return {c.name: cast("ScalarElementColumnDefault", c.default).arg for c in table.columns
            if c.name not in names and c.name != "id" and c.default is not None and c.default.is_scalar}


_SEQUENCES: dict[str, str] = {}  # table -> its id sequence (the same in every gridops database)


def _sequence(cursor: Cursor[Any], table_name: str) -> str:
    if table_name not in _SEQUENCES:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table_name,))
        row = cursor.fetchone()
        assert row is not None  # a SELECT without FROM answers one row
        _SEQUENCES[table_name] = row[0]
    return _SEQUENCES[table_name]


def _select(table: Table, names: tuple[str, ...], prefix: str) -> tuple[str, str, str]:
    arrays = ", ".join(f"CAST(%({prefix}{k})b AS {_pg_array_type(table.c[n].type)})" for k, n in enumerate(names))
    alias = ", ".join(f"c{k}" for k in range(len(names)))
    values = ", ".join(_pg_value(f"u.c{k}", table.c[n].type) for k, n in enumerate(names))
    return arrays, alias, values


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(f'"{n}"' for n in names)


@lru_cache(maxsize=256)
def _unnest_insert(table: Table, names: tuple[str, ...], prefix: str) -> str:
    arrays, alias, values = _select(table, names, prefix)
    return f'INSERT INTO "{table.name}" ({_columns(names)}) SELECT {values} FROM unnest({arrays}) AS u({alias})'


@lru_cache(maxsize=256)
def _insert_with_ids(table: Table, names: tuple[str, ...], sequence: str) -> str:
    # the ids are drawn first and answered in the rows' order, whatever order the insert takes
    arrays, alias, values = _select(table, names, "c")
    return (f"WITH u AS MATERIALIZED (SELECT nextval('{sequence}'::regclass) AS id, u.* FROM unnest({arrays}) "
            f"WITH ORDINALITY AS u({alias}, ord)), "
            f'ins AS (INSERT INTO "{table.name}" ("id", {_columns(names)}) SELECT u.id, {values} FROM u) '
            f"SELECT id FROM u ORDER BY ord")


@lru_cache(maxsize=256)
def _together(shapes: tuple[tuple[Table, tuple[str, ...]], ...]) -> str:
    """One statement, one data-modifying CTE a table (PostgreSQL runs each exactly once)."""
    parts = []
    for k, (table, names) in enumerate(shapes):
        arrays, alias, values = _select(table, names, f"t{k}c")
        parts.append(f'i{k} AS (INSERT INTO "{table.name}" ({_columns(names)}) SELECT {values} FROM unnest({arrays}) AS u({alias}))')
    return "WITH " + ", ".join(parts) + " SELECT 1"


def _pg_array_type(coltype: TypeEngine[Any]) -> str:
    if isinstance(coltype, Geometry):
        return "bytea[]"  # EWKB
    if _is_json(coltype):
        return "text[]"
    impl = coltype.dialect_impl(_PG)
    if hasattr(impl, "impl"):  # a TypeDecorator
        impl = impl.impl.dialect_impl(_PG)
    return impl.compile(dialect=_PG) + "[]"


def _pg_value(ref: str, coltype: TypeEngine[Any]) -> str:
    if isinstance(coltype, Geometry):
        return f"ST_GeomFromEWKB({ref})"  # the column's type then checks the geometry type and SRID
    if _is_json(coltype):
        return f"CAST({ref} AS jsonb)"
    return ref


def _is_json(coltype: TypeEngine[Any]) -> bool:
    impl = coltype.dialect_impl(_PG)
    return isinstance(impl, JSON) or isinstance(getattr(impl, "impl", None), JSON)


def _column_values(coltype: TypeEngine[Any], values: list[Any]) -> list[Any]:
    """One column as the array PostgreSQL reads: geometries as EWKB, documents as JSON text."""
    if isinstance(coltype, Geometry):
        return _ewkb(values)
    if _is_json(coltype):
        return [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in values]
    if hasattr(coltype, "process_bind_param"):
        return [coltype.process_bind_param(v, _PG) for v in values]
    return values


def _ewkb(values: list[Any]) -> list[bytes | None]:
    out: list[bytes | None] = [None] * len(values)
    present = [k for k, v in enumerate(values) if v is not None]
    if not present:
        return out
    geoms, srids = [], []
    for k in present:
        v = values[k]
        if isinstance(v, WKBElement):
            geoms.append(bytes(v.data))
            srids.append(v.srid)
        else:  # a shapely geometry, in the storage CRS
            geoms.append(shapely.to_wkb(v))
            srids.append(STORAGE_SRID)
    parsed = shapely.set_srid(shapely.from_wkb(geoms), srids)
    for k, wkb in zip(present, shapely.to_wkb(parsed, include_srid=True), strict=True):
        out[k] = wkb
    return out
