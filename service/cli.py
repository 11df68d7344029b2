"""The `gridops` command. Each command calls the same functions as the API and
ends with one line saying what it did; failures are one sentence, not a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from geo.errors import GeoError

from .errors import GridopsError


class _Failure(click.ClickException):
    def show(self, file=None) -> None:
        click.echo(f"gridops: {self.message}", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (GridopsError, GeoError) as err:
            raise _Failure(str(err)) from None


def _app(**overrides):
    from . import create_app

    app = create_app(overrides or None)
    _close_with_command(app.extensions["gridops.db"])
    return app


def _db():
    from .config import load_config
    from .db import Database

    return _close_with_command(Database(load_config()["DATABASE_URL"]))


def _close_with_command(database):
    # SpatiaLite can crash when a connection is finalised during interpreter
    # shutdown, so every command closes its pool before exiting.
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(database.dispose)
    return database


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """gridops: grid mapping and dispatch for community grid governance (网格化治理).

    The database comes from DATABASE_URL (unset: SpatiaLite under instance/).
    """


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Run gunicorn with N worker processes.")
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the app (Ctrl-C stops it)."""
    from .health import health

    app = _app()
    report = health(app.extensions["gridops.db"])
    click.echo(
        f"gridops: serving http://{host}:{port} on {report['spatial_library']} {report['spatial_version']} "
        f"({report['database']['url']})" + (f" with {workers} gunicorn workers" if workers else "")
    )
    if workers:
        _gunicorn(host, port, workers)
    else:
        app.run(host=host, port=port, threaded=True, use_reloader=False)


def _gunicorn(host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")

        def load(self):
            return _app()  # each worker builds its own app and engine after the fork

    _App().run()


@cli.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Run the migrations (creates the database file or the PostGIS extension as needed)."""
    from .schema import upgrade

    database = _db()
    before, after = upgrade(database, revision)
    if before == after:
        click.echo(f"schema already at {after} on {database.backend} ({database.display_url})")
    else:
        click.echo(f"schema upgraded {before or 'empty'} → {after} on {database.backend} ({database.display_url})")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION ('base' empties the schema)."""
    from .schema import downgrade

    database = _db()
    downgrade(database, revision)
    click.echo(f"schema downgraded to {revision} on {database.backend}")


@db.command("check")
def db_check() -> None:
    """Which backend, which spatial library, and whether the schema is current."""
    st = _db().status()
    from .health import SPATIAL_LIBRARY

    click.echo(f"backend:  {st.backend} ({st.url})")
    click.echo(f"server:   {'SQLite' if st.backend == 'spatialite' else 'PostgreSQL'} {st.server_version}")
    if st.spatial_version is None:
        click.echo(f"spatial:  {SPATIAL_LIBRARY[st.backend]} installed on the server, not yet created in this database")
    else:
        click.echo(f"spatial:  {SPATIAL_LIBRARY[st.backend]} {st.spatial_version}")
    if st.current:
        click.echo(f"schema:   current (revision {st.head})")
    else:
        click.echo(f"schema:   behind: at {st.revision or 'none'}, code needs {st.head}; run `gridops db upgrade`")
        sys.exit(1)


@cli.command("demo-city")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--end",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
    default=None,
    help="The moment the incident history runs up to, city local time (default 2026-11-15T18:00, so a seed "
    "always gives the same city); `make demo` passes the current time.",
)
@click.option("--weeks", type=click.IntRange(1, 104), default=8, show_default=True, help="Weeks of incident history.")
def demo_city(seed: int, out_dir: Path, end, weeks: int) -> None:
    """Generate a deterministic demo city as GeoJSON/CSV files a planner can open in QGIS."""
    from .democity import DEFAULT_END, generate_city, write_city

    city = generate_city(seed=seed, end=end.replace(tzinfo=DEFAULT_END.tzinfo) if end else DEFAULT_END, weeks=weeks)
    write_city(city, out_dir)
    s = city.summary()
    click.echo(
        f"demo city (seed {seed}) written to {out_dir}: {s['communities']} communities, {s['grids']} grids, "
        f"{s['micro_grids']} micro-grids, {s['buildings']} buildings, {s['households']} households, "
        f"{s['workers']} workers, {s['incidents']} incidents"
    )


@cli.command()
@click.argument("city_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when boundaries are already loaded.")
def load(city_dir: Path, if_empty: bool) -> None:
    """Load a city directory (as written by `gridops demo-city`) into the database."""
    from .loader import load_city

    app = _app()
    database = app.extensions["gridops.db"]
    with database.session() as session:
        result = load_city(session, city_dir, config=app.config, if_empty=if_empty, progress=_progress)
    if result is None:
        click.echo(f"boundaries already loaded in {database.display_url}; nothing to do")
        return
    click.echo(
        f"loaded {city_dir} into {database.backend}: " + ", ".join(f"{n} {what}" for what, n in result.items())
    )


@cli.command()
@click.argument("input_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--crs", default="wgs84", show_default=True, help="CRS of rows without a crs column.")
@click.option("--at", "at_text", default=None, help="Locate as of this ISO time (default: now).")
def locate(input_csv: Path, out_path: Path, crs: str, at_text: str | None) -> None:
    """Place every point of a CSV (lon,lat[,crs][,id]) in its grid and micro-grid."""
    from geo.crs import crs_name

    from .batch import csv_chunks, locate_batch, parse_csv

    app = _app()
    geocoder = app.extensions["gridops.geocoder"]
    at = _parse_time(at_text, app.config["TIMEZONE"]) if at_text else None
    with input_csv.open(encoding="utf-8-sig", newline="") as fh:
        batch = parse_csv(fh, max_points=10**9, default_crs=crs_name(crs))
    step = 50_000
    counts: dict[str, int] = {}
    with out_path.open("w", encoding="utf-8", newline="") as out, _progress(range(0, len(batch), step), "locating") as bar:
        for start in bar:
            result = locate_batch(geocoder, batch.slice(start, start + step), at)
            for piece in csv_chunks(result, header=start == 0):
                out.write(piece)
            for row in result.rows:
                counts[row["status"]] = counts.get(row["status"], 0) + 1
    click.echo(f"located {len(batch)} points into {out_path}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
def _parse_time(text: str, tz: str):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from .errors import InvalidParameter

    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter("at", f"{text!r} is not an ISO-8601 time like 2026-11-23T09:30:00+08:00.") from None
    return (value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))).astimezone(UTC)


def _progress(items, label: str):
    return click.progressbar(items, label=label.ljust(12), file=sys.stderr, show_pos=True)


def main() -> None:
    cli(prog_name="gridops")


if __name__ == "__main__":
    main()
