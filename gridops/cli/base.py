"""What every command shares: the `gridops` group, the app it works on, progress bars, and
failures said in one sentence (never a traceback)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import datetime
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
