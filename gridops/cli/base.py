"""What every command shares: the `gridops` group, the app it works on, progress bars, and
failures said in one sentence (never a traceback)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask
from sqlalchemy.exc import DBAPIError

from gridops.geo.errors import GeoError

from gridops.core.config import load_config
from gridops.core.db import Database
from gridops.core.errors import GridopsError
from gridops.core.timeparse import parse_optional_time
from gridops.incidents.context import Context
from gridops.registers.files import BadFile, write_file
from gridops.web.app import create_app
from gridops.web.context import use_case_context

_NO_SCHEMA = ("no such table", "does not exist", "undefinedtable", "no such column", "has no column")


class Failure(click.ClickException):
    def show(self, file: Any = None) -> None:
        click.echo(f"gridops: {self.message}", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (GridopsError, GeoError) as err:
            raise Failure(str(err)) from None
        except DBAPIError as err:
            raise Failure(_database_sentence(err)) from None


def _database_sentence(err: DBAPIError) -> str:
    """A database error as one sentence: a database without gridops' schema is told to upgrade."""
    text = str(err.orig).strip().splitlines()[0] if err.orig is not None and str(err.orig).strip() else type(err).__name__
    if any(marker in text.lower() for marker in _NO_SCHEMA):
        return f"the database has no gridops schema, or an older one ({text}): run `gridops db upgrade`."
    return f"the database refused: {text}."


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """gridops: grid mapping and dispatch for community grid governance (网格化治理).

    The database comes from DATABASE_URL (unset: SpatiaLite under instance/).
    """


def make_app(**overrides: Any) -> Flask:
    """The app a command works on (its database, geocoder and reference data), closed when the command ends."""
    app = create_app(overrides or None)
    close_with_command(app.extensions["gridops.db"])
    return app


def app_db(app: Flask) -> Database:
    db: Database = app.extensions["gridops.db"]
    return db


def context(app: Flask) -> Context:
    return use_case_context(app)


def database() -> Database:
    """The database alone, for the commands that need no app (the schema)."""
    return close_with_command(Database(load_config()["DATABASE_URL"]))


def close_with_command(db: Database) -> Database:
    # SpatiaLite can crash when a connection is finalised during interpreter
    # shutdown, so every command closes its pool before exiting.
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(db.dispose)
    return db


def when(text: str | None, app: Flask, field: str = "at") -> datetime | None:
    """An ISO time from an option; zone-less in the city's time zone."""
    return parse_optional_time(text, app.config["TIMEZONE"], field)


def progress(items: Iterable[Any], label: str) -> Any:
    return click.progressbar(items, label=label.ljust(12), file=sys.stderr, show_pos=True)


@contextmanager
def naming_bad_rows() -> Iterator[None]:
    """A refused file's bad rows, a line each on stderr, before the one sentence that says nothing was imported."""
    try:
        yield
    except BadFile as err:
        for row in err.rows:
            click.echo(f"row {row['row']} ({row['field']}): {row['detail']}", err=True)
        raise


def file_commands(group: click.Group, label: str, importer: Any, exporter: Any, columns: tuple[str, ...], columns_doc: str) -> None:
    """`import FILE` and `export --out FILE` for one register, each calling its one application function as the system:
    an import names every bad row and stores nothing of a bad file; both end with one line saying what they did."""
    @group.command("import", help=f"Import FILE (.xlsx or CSV: {columns_doc}): every row checked first, all stored or none.")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--note", default=None, help="Why (kept in the audit trail).")
    def import_file(file: Path, note: str | None) -> None:
        app = make_app()
        with naming_bad_rows(), app_db(app).session() as session:
            done = importer(session, context(app), None, file.read_bytes(), name=file.name, note=note)
        click.echo(f"{label}: {done.rows} row(s) imported from {file.name}: {done.created} added, {done.updated} updated, "
                   f"{done.unchanged} unchanged")

    @group.command("export", help=f"Write every row of the register as the import reads them ({', '.join(columns)}).")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help=".csv or .xlsx")
    def export_file(out: Path) -> None:
        app = make_app()
        with app_db(app).session() as session:
            rows = exporter(session, context(app), None)
        out.write_bytes(write_file(columns, rows, label, "xlsx" if out.suffix.lower() == ".xlsx" else "csv"))
        click.echo(f"{label}: {len(rows)} row(s) written to {out}")
