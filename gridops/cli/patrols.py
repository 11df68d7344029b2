"""`gridops registers …` and `gridops patrols …`: the special-group registers (走访对象) and their visits, through
the same functions as /api/v1/patrols (gridops.registers.visits); each change reschedules the entry's visits."""

from __future__ import annotations

from typing import Any

import click

from gridops.cli.base import app_db, cli, context, file_commands, make_app
from gridops.core import clock
from gridops.core.timeparse import parse_date
from gridops.field.patrols import KINDS, schedule_visits
from gridops.registers import visit_files, visits


@cli.group()
def registers() -> None:
    """The special-group registers (独居老人, 残疾人, 低保户, 重点人员 …): who is visited, at which door, how often."""


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


@registers.command("add")
@click.argument("household")
@click.option("--kind", required=True, type=click.Choice(list(KINDS)))
@click.option("--every", "interval_days", type=click.IntRange(1, 366), default=None, help="Days between visits (default by kind).")
@click.option("--person", default=None)
@click.option("--phone", default=None)
@click.option("--id-number", default=None)
@click.option("--note", default=None, help="Why (kept in the audit trail).")
def registers_add(household: str, kind: str, interval_days: int | None, person: str | None, phone: str | None,
                  id_number: str | None, note: str | None) -> None:
    """Register someone at HOUSEHOLD (the code on the door) who needs regular visits."""
    app = make_app()
    with app_db(app).session() as session:
        reg = visits.add_entry(session, context(app), None, household=household, kind=kind, interval_days=interval_days,
                               person=person, phone=phone, id_number=id_number, note=note)
    click.echo(f"register {reg['id']}: {reg['kind_name']} {reg['person'] or ''} at {reg['household']} (grid {reg['grid']}), "
               f"every {reg['interval_days']} days, next visit from {reg['next_visit_from']}")


@registers.command("list")
@click.option("--area", default=None, help="Only this grid or community (a code prefix).")
def registers_list(area: str | None) -> None:
    """The entries, their last visit and their open visit."""
    app = make_app()
    with app_db(app).session() as session:
        rows = visits.list_entries(session, context(app), None, area)
    today = clock.today(app.config["TIMEZONE"]).isoformat()
    for r in rows:
        visit = f"visit {r['open_visit']['task']} due {r['open_visit']['due_at']}" if r["open_visit"] else "no open visit"
        paused = f"\tpaused until {r['paused_until']}" if r["paused_until"] and r["paused_until"] >= today else ""
        click.echo(f"{r['id']}\t{r['grid']}\t{r['kind']}\t{r['person'] or ''}\t{r['household'] or r['building']}\t"
                   f"every {r['interval_days']} days\tlast {r['last_visit_at'] or 'never'}\t{visit}{paused}")
    click.echo(f"{len(rows)} registers")


patrols.add_command(registers_add, "add")
patrols.add_command(registers_list, "list")


def _said(reg: dict[str, Any], what: str) -> None:
    visit = f"visit {reg['open_visit']['task']} due {reg['open_visit']['due_at']}" if reg["open_visit"] else "no open visit"
    click.echo(f"register {reg['id']} {what}: {reg['visits_cancelled']} open visit(s) cancelled, {visit}")


@registers.command("change")
@click.argument("entry_id", type=int)
@click.option("--every", "interval_days", type=click.IntRange(1, 366), default=None, help="Days between visits.")
@click.option("--person", default=None)
@click.option("--phone", default=None)
@click.option("--note", default=None, help="Why (kept in the audit trail).")
def registers_change(entry_id: int, interval_days: int | None, person: str | None, phone: str | None, note: str | None) -> None:
    """Change an entry's interval or contact; a new interval reschedules its open visit."""
    changes = {k: v for k, v in (("interval_days", interval_days), ("person", person), ("phone", phone)) if v is not None}
    if not changes:
        raise click.UsageError("give --every, --person or --phone")
    app = make_app()
    with app_db(app).session() as session:
        reg = visits.change_entry(session, context(app), None, entry_id, note=note, **changes)
    _said(reg, "changed")


@registers.command("move")
@click.argument("entry_id", type=int)
@click.option("--household", default=None, help="The new door's household code (门牌码).")
@click.option("--building", default=None, help="Or the new building's code.")
@click.option("--note", default=None, help="Why (kept in the audit trail).")
def registers_move(entry_id: int, household: str | None, building: str | None, note: str | None) -> None:
    """The person moves to another door: visits go to its grid's worker."""
    app = make_app()
    with app_db(app).session() as session:
        reg = visits.move_entry(session, context(app), None, entry_id, household=household, building=building, note=note)
    _said(reg, f"moved to {reg['household'] or reg['building']} (grid {reg['grid']})")


@registers.command("pause")
@click.argument("entry_id", type=int)
@click.argument("until")
@click.option("--note", default=None, help="Why (kept in the audit trail).")
def registers_pause(entry_id: int, until: str, note: str | None) -> None:
    """No visits through UNTIL (a day: in hospital, away with family)."""
    app = make_app()
    with app_db(app).session() as session:
        reg = visits.pause_entry(session, context(app), None, entry_id, parse_date(until, "until"), note=note)
    _said(reg, f"paused until {reg['paused_until']}")


@registers.command("resume")
@click.argument("entry_id", type=int)
@click.option("--note", default=None, help="Why (kept in the audit trail).")
def registers_resume(entry_id: int, note: str | None) -> None:
    """Visits again from today."""
    app = make_app()
    with app_db(app).session() as session:
        reg = visits.resume_entry(session, context(app), None, entry_id, note=note)
    _said(reg, "resumed")


@registers.command("end")
@click.argument("entry_id", type=int)
@click.option("--note", default=None, help="Why (kept in the audit trail).")
def registers_end(entry_id: int, note: str | None) -> None:
    """The person no longer needs visits: the entry ends, its open visit is cancelled."""
    app = make_app()
    with app_db(app).session() as session:
        reg = visits.end_entry(session, context(app), None, entry_id, note=note)
    _said(reg, "ended")


file_commands(registers, "registers", visit_files.import_entries, visit_files.export_entries, visit_files.SHEET.columns,
              "id, household, building, kind, person, phone, id_number, interval_days, paused_until, active")
