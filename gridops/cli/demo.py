"""The demo city: generate it, load a city directory, make demo users."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from gridops.cli.base import app_db, cli, make_app, progress
from gridops.demo.city import DEFAULT_END, generate_city, write_city
from gridops.demo.loader import load_city
from gridops.demo.users import make_demo_users, still_valid, write_tokens


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
def demo_city(seed: int, out_dir: Path, end: datetime | None, weeks: int) -> None:
    """Generate a deterministic demo city as GeoJSON/CSV files a planner can open in QGIS."""
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
    app = make_app()
    db = app_db(app)
    with db.session() as session:
        result = load_city(session, city_dir, config=app.config, if_empty=if_empty, progress=progress)
    if result is None:
        click.echo(f"boundaries already loaded in {db.display_url}; nothing to do")
        return
    click.echo(f"loaded {city_dir} into {db.backend}: " + ", ".join(f"{n} {what}" for what, n in result.items()))


@cli.command("demo-users")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the tokens (kept locally: they are shown nowhere else).")
def demo_users(out_path: Path) -> None:
    """Make one user of each role on the demo city's first grid and write their tokens (again: nothing,
    while those tokens still work)."""
    app = make_app()
    with app_db(app).session() as session:
        if still_valid(session, out_path):
            click.echo(f"demo users already made: their tokens are in {out_path}")
            return
        grid, made = make_demo_users(session, app.config["PRIMARY_LAYER"])
    write_tokens(out_path, made)
    click.echo(f"made {len(made)} demo users on grid {grid}; their tokens are in {out_path}")
