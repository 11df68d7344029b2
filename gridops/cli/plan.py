"""`gridops plan …`: planners generate, rebalance and publish grid boundaries."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gridops.geo.districting import Bounds
from gridops.geo.plan import Ground, PlanError
from gridops.geo.planfile import read_lines, read_units, write_plan

from gridops.cli.base import Failure, app_db, cli, context, make_app, when
from gridops.planning.drafts import create_draft, draft_geojson, list_drafts
from gridops.planning.publish import publish_draft
from gridops.registers import people

_Bounds = tuple[int | None, int | None]  # --grid-households / --micro-households: min and max, each may be left out


@cli.group()
def plan() -> None:
    """Planners: generate, rebalance and publish grid boundaries."""


def _bounds_text(metrics: dict) -> str:
    text = (f"{metrics['grids']} grids ({100 * metrics['grids_within_bounds']:.0f}% within bounds, "
            f"{100 * metrics['grids_contiguous']:.0f}% contiguous, mean Polsby-Popper {metrics['mean_polsby_popper']:.2f}"
            + (f", {100 * metrics['boundary_along_streets']:.0f}% of boundaries along streets"
               if "boundary_along_streets" in metrics else "")
            + f"), {metrics['micro_grids']} micro-grids")
    if "households_keep_grid" in metrics:
        text += f"; {100 * metrics['households_keep_grid']:.1f}% of households keep their grid"
    return text


def _echo_problems(problems: list[dict]) -> None:
    for p in problems:
        click.echo(f"  cannot meet the bounds: {p['message']}", err=True)


@plan.command("generate")
@click.option("--community", default=None, help="Plan this community of the version in force (stored as a draft).")
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Plan the buildings or blocks of this vector file instead (no database).")
@click.option("--households-column", default=None, help="With --from: the column holding each unit's households.")
@click.option("--code-column", default=None, help="With --from: the column holding each unit's code (default: row numbers).")
@click.option("--prefix", default=None, help="With --from: the community code the grid codes extend (default P).")
@click.option("--streets", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="With --from: a vector file of streets for the boundaries to follow.")
@click.option("--barriers", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="With --from: rivers, railways… that no grid may straddle.")
@click.option("--crs", default=None, help="With --from: the file's CRS when it does not say (e.g. EPSG:4547).")
@click.option("--grid-households", nargs=2, type=int, default=(None, None), help="Bounds of a grid (default 300 500).")
@click.option("--micro-households", nargs=2, type=int, default=(None, None), help="Bounds of a micro-grid (default 50 80).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the plan as GeoJSON (.gpkg / .shp by suffix).")
def plan_generate(community: str | None, source: Path | None, households_column: str | None, code_column: str | None,
                  prefix: str | None, streets: Path | None, barriers: Path | None, crs: str | None, grid_households: _Bounds,
                  micro_households: _Bounds, out_path: Path | None) -> None:
    """Propose grids of 300-500 households and their micro-grids: compact, contiguous, along streets."""
    if (community is None) == (source is None):
        raise click.UsageError("give --community CODE (from the database) or --from FILE (a vector file).")
    if source is not None:
        _plan_file(source, households_column, code_column, prefix, streets, barriers, crs, grid_households,
                   micro_households, out_path)
        return
    assert community is not None  # one of --community and --from (checked above)
    _plan_draft(community, "generate", grid_households, micro_households, out_path)


def _plan_file(source: Path, households_column: str | None, code_column: str | None, prefix: str | None, streets: Path | None,
               barriers: Path | None, crs: str | None, grid_households: _Bounds, micro_households: _Bounds,
               out_path: Path | None) -> None:
    if not households_column or out_path is None:
        raise click.UsageError("with --from, give --households-column NAME and --out PLAN.geojson.")
    lo, hi = (grid_households[0] or 300, grid_households[1] or 500)
    mlo, mhi = (micro_households[0] or 50, micro_households[1] or 80)
    try:
        click.echo(f"reading {source.name}", err=True)
        units = read_units(source, households_column, code_column, crs)
        lines = read_lines(streets, crs) if streets else []
        walls = read_lines(barriers, crs) if barriers else []
        click.echo(f"preparing {len(units)} units ({sum(u.households for u in units):,} households)", err=True)
        ground = Ground(units, streets=lines, barriers=walls)
        click.echo("cutting grids and micro-grids", err=True)
        result = ground.generate(Bounds(lo, hi), Bounds(mlo, mhi, exempt_single=True), prefix or "P")
        write_plan(result, out_path)
    except PlanError as exc:
        raise Failure(str(exc)) from None
    _echo_problems(result.problems)
    click.echo(f"wrote {out_path}: {_bounds_text(result.metrics)}")


def _plan_draft(community: str, method: str, grid_households: _Bounds, micro_households: _Bounds, out_path: Path | None) -> None:
    app = make_app()
    with app_db(app).session() as session:
        draft = create_draft(session, None, app.config["PRIMARY_LAYER"], community, method,
                             grid=grid_households, micro=micro_households)
        doc = draft_geojson(session, draft["id"]) if out_path else None
    if out_path:
        out_path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    _echo_problems([c for c in draft["checks"] if c["kind"] in ("over_unit", "island", "no_count")])
    impact = draft["impact"]
    click.echo(f"draft {draft['id']} for community {community}: {_bounds_text(draft['metrics'])}")
    click.echo(f"  against the version in force: {impact['households_moved']:,} households change grid "
               f"({100 * impact['households_keep_grid']:.1f}% keep theirs); grids {impact['grids']['unchanged']} unchanged, "
               f"{impact['grids']['changed']} changed, {impact['grids']['new']} new, {len(impact['grids']['retired'])} retired; "
               f"{len(impact['open_incidents'])} open incidents and {len(impact['patrol_visits'])} patrol visits would change grid")
    if impact["grids_without_worker"]:
        click.echo(f"  nobody would answer for: {' '.join(impact['grids_without_worker'])} "
                   "(publish with --worker GRID=CODE or --accept-uncovered GRID for each)")
    click.echo(f"  publish with: gridops plan publish {draft['id']} --effective TIME")


@plan.command("rebalance")
@click.option("--community", required=True)
@click.option("--grid-households", nargs=2, type=int, default=(None, None))
@click.option("--micro-households", nargs=2, type=int, default=(None, None))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
def plan_rebalance(community: str, grid_households: _Bounds, micro_households: _Bounds, out_path: Path | None) -> None:
    """Move as few households as bring every published grid of a community back within bounds (a draft)."""
    _plan_draft(community, "rebalance", grid_households, micro_households, out_path)


@plan.command("publish")
@click.argument("draft_id", type=int)
@click.option("--effective", default=None, help="When the new boundaries take effect (ISO time; default now).")
@click.option("--accept-warnings", is_flag=True, help="Publish although the checks found something (never despite errors).")
@click.option("--worker", "workers", multiple=True, metavar="GRID=CODE",
              help="Worker CODE answers for GRID of the new boundaries from when they take effect (repeat per grid).")
@click.option("--accept-uncovered", "accepted", multiple=True, metavar="GRID",
              help="Publish GRID knowingly with nobody answering for it (repeat per grid).")
def plan_publish(draft_id: int, effective: str | None, accept_warnings: bool, workers: tuple[str, ...],
                 accepted: tuple[str, ...]) -> None:
    """Publish a draft as the next boundary version (a grid nobody would answer for needs --worker or --accept-uncovered)."""
    named = {}
    for pair in workers:
        grid, sep, code = pair.partition("=")
        if not sep or not grid or not code:
            raise click.BadParameter(f"{pair!r}: give GRID=CODE", param_hint="--worker")
        named[grid.strip()] = code.strip()
    app = make_app()
    at = when(effective, app)
    ctx = context(app)
    with app_db(app).session() as session:
        staffing = people.Staffing(session, ctx, None, f"plan draft {draft_id} published")
        done = publish_draft(session, ctx, draft_id, None, at, accept_warnings, accept_uncovered=accepted, workers=named,
                             staffing=staffing)
    p = done["published"]
    click.echo(f"published {p['layer']} version {p['version']}, effective {p['effective_from']}: "
               f"{p['incidents_noted']} open incidents stay with their assignee (noted), "
               f"{p['patrol_visits_moved']} patrol visits moved, {p['assignments_ended']} assignments of retired grids ended, "
               f"{len(p['workers_named'])} worker(s) named, {len(p['accepted_uncovered'])} grid(s) left uncovered knowingly")


@plan.command("list")
@click.option("--community", default=None)
def plan_list(community: str | None) -> None:
    """The drafts, newest first."""
    app = make_app()
    with app_db(app).session() as session:
        for d in list_drafts(session, community):
            m = d["metrics"]
            click.echo(f"{d['id']}\t{d['community']}\t{d['status']}\t{d['method']}\trev {d['revision']}\t"
                       f"{m.get('grids', 0)} grids\t{100 * m.get('grids_within_bounds', 0):.0f}% in bounds")
