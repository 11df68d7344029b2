"""`gridops db …`: the schema."""

from __future__ import annotations

import sys

import click

from gridops.cli.base import cli, database, make_app
from gridops.core.health import SPATIAL_LIBRARY, db_status
from gridops.core.schema import downgrade, upgrade
from gridops.registers import calendars, people


@cli.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Run the migrations (creates the database file or the PostGIS extension as needed)."""
    db_ = database()
    before, after = upgrade(db_, revision)
    if before == after:
        click.echo(f"schema already at {after} on {db_.backend} ({db_.display_url})")
    else:
        click.echo(f"schema upgraded {before or 'empty'} → {after} on {db_.backend} ({db_.display_url})")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION ('base' empties the schema)."""
    db_ = database()
    downgrade(db_, revision)
    click.echo(f"schema downgraded to {revision} on {db_.backend}")


@db.command("check")
def db_check() -> None:
    """Which backend, which spatial library, and whether the schema is current."""
    st = db_status(database())
    click.echo(f"backend:  {st.backend} ({st.url})")
    click.echo(f"server:   {'SQLite' if st.backend == 'spatialite' else 'PostgreSQL'} {st.server_version}")
    if st.spatial_version is None:
        click.echo(f"spatial:  {SPATIAL_LIBRARY[st.backend]} installed on the server, not yet created in this database")
    else:
        click.echo(f"spatial:  {SPATIAL_LIBRARY[st.backend]} {st.spatial_version}")
    if st.current:
        click.echo(f"schema:   current (revision {st.head})")
        _reference_warnings()
    else:
        click.echo(f"schema:   behind: at {st.revision or 'none'}, code needs {st.head}; run `gridops db upgrade`")
        sys.exit(1)


def _reference_warnings() -> None:
    """What a street office must fix before it bites: a year with no holiday calendar, grids nobody answers for."""
    db_ = database()
    with db_.session() as session:
        missing = calendars.missing_years(session)
        uncovered = people.uncovered_grids(session, make_app().config["PRIMARY_LAYER"])
    if missing:
        click.echo(f"calendar: warning: no holiday calendar for {', '.join(map(str, missing))}: working-time limits count "
                   "Monday to Friday there; `gridops calendar import FILE`")
    else:
        click.echo("calendar: this year and next are kept")
    if uncovered:
        shown = ", ".join(uncovered[:10]) + (f" and {len(uncovered) - 10} more" if len(uncovered) > 10 else "")
        click.echo(f"grids:    warning: {len(uncovered)} grid(s) with no worker or leader: {shown}; their reports go "
                   "to the community admin (`gridops workers assign`)")
