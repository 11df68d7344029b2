"""`gridops patrols …`: patrol registers (走访) and their visits."""

from __future__ import annotations

import click

from gridops.access.policy import Principal
from gridops.cli.base import app_db, cli, context, make_app
from gridops.field.patrols import KINDS, add_register, registers, schedule_visits


@cli.group()
def patrols() -> None:
    """Patrol visits (走访): who needs visiting, and their visit tasks."""


@patrols.command("schedule")
@click.option("--horizon-days", type=click.FloatRange(0, 31), default=1.0, show_default=True,
              help="Schedule the visits falling due within this many days.")
def patrols_schedule(horizon_days: float) -> None:
    """Make the visit tasks that fall due (every sweep does this too); running it again adds nothing."""
    app = make_app()
    with app_db(app).session() as session:
        done = schedule_visits(session, context(app), horizon_days=horizon_days)
    unassigned = f"; {len(done.unassigned)} registers have no worker on their grid" if done.unassigned else ""
    click.echo(f"scheduled {len(done.created)} visits{unassigned}")


@patrols.command("add")
@click.argument("household")
@click.option("--kind", required=True, type=click.Choice(list(KINDS)))
@click.option("--every", "interval_days", type=click.IntRange(1, 366), default=None, help="Days between visits (default by kind).")
@click.option("--person", default=None)
@click.option("--phone", default=None)
@click.option("--id-number", default=None)
def patrols_add(household: str, kind: str, interval_days: int | None, person: str | None, phone: str | None,
                id_number: str | None) -> None:
    """Register someone at HOUSEHOLD (the code on the door) who needs regular visits."""
    app = make_app()
    with app_db(app).session() as session:
        reg = add_register(session, context(app), None, household=household, kind=kind, interval_days=interval_days,
                           person=person, phone=phone, id_number=id_number)
    click.echo(f"register {reg['id']}: {reg['kind_name']} {reg['person'] or ''} at {reg['household']} (grid {reg['grid']}), "
               f"every {reg['interval_days']} days, next visit from {reg['next_visit_from']}")


@patrols.command("list")
@click.option("--area", default=None, help="Only this grid or community (a code prefix).")
def patrols_list(area: str | None) -> None:
    """The registers, their last visit and their open visit (ID numbers are shown masked)."""
    app = make_app()
    viewer = Principal(0, "cli", "command_centre")
    with app_db(app).session() as session:
        rows = registers(session, context(app), viewer, area)
    for r in rows:
        visit = f"visit {r['open_visit']['task']} due {r['open_visit']['due_at']}" if r["open_visit"] else "no open visit"
        click.echo(f"{r['id']}\t{r['grid']}\t{r['kind']}\t{r['person'] or ''}\t{r['household'] or r['building']}\t"
                   f"last {r['last_visit_at'] or 'never'}\t{visit}")
    click.echo(f"{len(rows)} registers")
