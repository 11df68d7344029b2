"""Alembic's migrations, shipped inside the package: one history for PostGIS and
SpatiaLite, schema and data revisions apart (`gridops db upgrade` runs them)."""
