"""`gridops sweep` and `gridops render-maps`: the work the server does on its own, on demand."""

from __future__ import annotations

from pathlib import Path

import click

from gridops.cli.base import app_db, cli, context, make_app, progress
from gridops.field.sweep import sweep as run_sweep


@cli.command()
def sweep() -> None:
    """Find overdue work now: supervise (督办), notify, escalate one tier up the ladder."""
    app = make_app()
    done = run_sweep(app_db(app), context(app))
    click.echo(f"swept: {len(done.supervised)} supervised, {len(done.escalated)} escalated, "
               f"{len(done.visits_scheduled)} visits scheduled, "
               f"{len(done.overdue_visits)} overdue visits notified, {len(done.codes_forgotten)} dead sign-in codes blanked, "
               f"{len(done.skipped)} skipped (changed meanwhile)")


@cli.command("render-maps")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("static/maps"), show_default=True)
@click.option("--since", default=None, help="The risk maps' window start (default: 8 weeks before --until).")
@click.option("--until", default=None, help="The window end (default: now).")
@click.option("--area", default=None, help="Only this area (a code).")
def render_maps_command(out_dir: Path, since: str | None, until: str | None, area: str | None) -> None:
    """Write the maps as standalone HTML files for reports: the risk map of all incidents and of each
    category group, and the live map as of now (every script, style and image inside the file)."""
    from gridops.analytics.mapping import category_groups, render_maps  # folium: ~1 s to import, only this command needs it

    app = make_app()
    base = {k: v for k, v in {"since": since, "until": until, "area": area}.items() if v}
    with app_db(app).session() as session:
        groups = category_groups(session)
    queries = [("risk-all", base)] + [(f"risk-{g}", {**base, "category": g}) for g in groups]
    written = render_maps(app_db(app), app.config, out_dir, queries, progress=progress)
    total = sum(r.bytes for r in written)
    click.echo(f"rendered {len(written)} maps into {out_dir} ({total / 1e6:.1f} MB): " + ", ".join(r.path.name for r in written))
