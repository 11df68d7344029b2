"""Alembic environment: reads only the models' metadata; the connection comes
from the caller (gridops.core.schema) or, for the plain `alembic` command, from
DATABASE_URL."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers

from gridops.core.config import load_config
from gridops.core.db import Database
from gridops.core.models import Base

config = context.config
target_metadata = Base.metadata

# Tables and views that belong to PostGIS or SpatiaLite, not to gridops.
_FOREIGN_PREFIXES = (
    "spatial_ref_sys", "geometry_columns", "views_geometry_columns", "virts_geometry_columns",
    "spatialite_history", "sql_statements_log", "spatialindex", "elementarygeometries", "knn",
    "knn2", "data_licenses", "sqlite_", "idx_", "geom_cols_ref_sys", "vector_layers",
    "spatial_ref_sys_aux", "geography_columns", "raster_columns", "raster_overviews",
)


def include_object(obj, name, obj_type, reflected, compare_to):
    if obj_type == "table" and name and name.lower().startswith(_FOREIGN_PREFIXES):
        return False
    if obj_type == "table" and reflected and compare_to is None and name not in target_metadata.tables:
        return False
    return alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to)


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_item=alembic_helpers.render_item,
        process_revision_directives=alembic_helpers.writer,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    db = config.attributes.get("database") or Database(load_config()["DATABASE_URL"])
    with db.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("gridops migrations run online only: the SQL differs between PostGIS and SpatiaLite.")
run_migrations_online()
