"""`gridops workers …`, `gridops assignments …`, `gridops calendar …`, `gridops categories …`, `gridops buildings …`,
`gridops households …` and `gridops audit`: the reference registers from the command line, through the same
functions as /api/v1/people, /assignments, /calendar, /categories, /buildings and /households.

Run on the server, a command acts as the system (its audit rows say `system`), as `gridops users` does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gridops.cli.base import app_db, cli, context, file_commands, make_app, naming_bad_rows, when
from gridops.core import clock
from gridops.core.timeparse import parse_date
from gridops.registers import building_files, buildings, calendars, categories, households, people, people_files
from gridops.registers.audit import ChangeQuery, changes
from gridops.registers.categories import EDITABLE
from gridops.registers.files import text_of


@cli.group()
def workers() -> None:
    """Workers and staff, and the areas they answer for."""


@workers.command("list")
@click.option("--area", default=None, help="Only those answering for this area (or one within it).")
@click.option("--inactive", is_flag=True, help="Those who left, instead.")
def workers_list(area: str | None, inactive: bool) -> None:
    """One line per worker: code, name, role, and the areas they answer for now."""
    app = make_app()
    with app_db(app).session() as session:
        found = people.list_workers(session, None, people.WorkerQuery(area=area, active=not inactive))
    for w in found:
        held = ", ".join(f"{a['area']}:{a['duty']}" for a in w["assignments"]) or "-"
        click.echo(f"{w['code']}\t{w['name']}\t{w['role']}\t{held}")
    click.echo(f"{len(found)} worker(s)")


@workers.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(list(people.WORKER_ROLES)))
@click.option("--phone", default=None)
@click.option("--department", default=None, help="For department staff: police, fire, …")
def workers_add(code: str, name: str, role: str, phone: str | None, department: str | None) -> None:
    """Add a worker (then `gridops workers assign` gives them their ground)."""
    app = make_app()
    with app_db(app).session() as session:
        w = people.add_worker(session, context(app), None, code=code, name=name, role=role, phone=phone,
                              department_code=department)
    click.echo(f"worker {w['code']} {w['name']} ({w['role']}) added")


@workers.command("assign")
@click.argument("code")
@click.argument("area")
@click.option("--duty", default="primary", type=click.Choice(list(people.DUTIES)), show_default=True)
@click.option("--from", "valid_from", default=None, help="From when (a day or a time; default now).")
@click.option("--to", "valid_to", default=None, help="Until when (default open-ended).")
def workers_assign(code: str, area: str, duty: str, valid_from: str | None, valid_to: str | None) -> None:
    """Make worker CODE answer for AREA from a date."""
    app = make_app()
    with app_db(app).session() as session:
        a = people.assign(session, context(app), None, code, area=area, duty=duty, valid_from=when(valid_from, app, "from"),
                          valid_to=when(valid_to, app, "to"))
    click.echo(f"assignment {a['id']}: {code} is {duty} of {area} from {a['valid_from']}")


@workers.command("unassign")
@click.argument("assignment_id", type=int)
@click.option("--at", default=None, help="When it ends (default now).")
def workers_unassign(assignment_id: int, at: str | None) -> None:
    """End an assignment."""
    app = make_app()
    with app_db(app).session() as session:
        a = people.end_assignment(session, context(app), None, assignment_id, valid_to=when(at, app))
    click.echo(f"assignment {a['id']} ({a['worker']} {a['duty']} of {a['area']}) ends {a['valid_to']}")


@workers.command("deactivate")
@click.argument("code")
@click.option("--note", default=None, help="Why (kept in the audit trail).")
def workers_deactivate(code: str, note: str | None) -> None:
    """A worker leaves: assignments end, sign-ins stop, open work is handed on."""
    app = make_app()
    with app_db(app).session() as session:
        w = people.deactivate_worker(session, context(app), None, code, note=note)
    for m in w["moved"]:
        click.echo(f"incident {m['incident']} -> {m['to'] or 'nobody'} ({m['reason']})")
    click.echo(f"worker {code} deactivated: {len(w['ended_assignments'])} assignment(s) ended, "
               f"{len(w['moved'])} incident(s) and {w['visits_moved']} visit(s) handed on")


@cli.group()
def calendar() -> None:
    """Public holidays and make-up workdays (调休)."""


@calendar.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", default=None)
def calendar_import(file: Path, note: str | None) -> None:
    """Import FILE (CSV: date,kind[,name]); each year it names is replaced, all or nothing."""
    app = make_app()
    with naming_bad_rows(), app_db(app).session() as session:
        done = calendars.import_days(session, None, text_of(file.read_bytes()), note=note or file.name)
    click.echo(f"calendar: {done.days} day(s) imported for {', '.join(map(str, done.years))} "
               f"(replacing {done.replaced})")


@calendar.command("show")
@click.option("--year", type=int, default=None, help="Default: this year.")
def calendar_show(year: int | None) -> None:
    """A year's holidays and make-up days; warns of a year near now with no calendar."""
    app = make_app()
    year = year or clock.now().year
    with app_db(app).session() as session:
        found = calendars.days(session, None, year)
        missing = calendars.missing_years(session)
    for d in found["days"]:
        click.echo(f"{d['date']}\t{d['kind']}\t{d['name'] or ''}")
    for y in missing:
        click.echo(f"warning: {y} has no holiday calendar; working-time limits count Monday to Friday there", err=True)
    click.echo(f"{year}: {len(found['days'])} day(s)")


@calendar.command("set")
@click.argument("day")
@click.argument("kind", type=click.Choice(["holiday", "workday"]))
@click.option("--name", default=None)
def calendar_set(day: str, kind: str, name: str | None) -> None:
    """Make DAY a holiday or a make-up workday."""
    app = make_app()
    with app_db(app).session() as session:
        d = calendars.set_day(session, None, parse_date(day, "day"), kind, name)
    click.echo(f"{d['date']} is a {d['kind']}")


@calendar.command("clear")
@click.argument("day")
def calendar_clear(day: str) -> None:
    """DAY goes back to what its weekday makes it."""
    app = make_app()
    with app_db(app).session() as session:
        calendars.clear_day(session, None, parse_date(day, "day"))
    click.echo(f"{day} cleared")


@cli.group("categories")
def categories_group() -> None:
    """Incident categories: names, urgency, time limits, handlers."""


@categories_group.command("list")
def categories_list() -> None:
    app = make_app()
    with app_db(app).session() as session:
        found = categories.list_categories(session)
    for c in found:
        unit = "working min" if c["working_time"] else "min"
        click.echo(f"{c['code']}\t{c['name']}\t{c['urgency']}\t{c['time_limit_minutes']} {unit}\t{c['handler']}")
    click.echo(f"{len(found)} categories")


@categories_group.command("set")
@click.argument("code")
@click.argument("changes", nargs=-1, required=True)
def categories_set(code: str, changes: tuple[str, ...]) -> None:
    """Change CODE: FIELD=VALUE pairs (VALUE is read as JSON when it can be: 120, true, null), e.g.
    `gridops categories set hazard.fire_lane time_limit_minutes=120`."""
    app = make_app()
    fields: dict[str, Any] = {}
    for pair in changes:
        key, sep, raw = pair.partition("=")
        if not sep or key not in EDITABLE:
            raise click.BadParameter(f"{pair!r}: give FIELD=VALUE, FIELD one of {', '.join(EDITABLE)}")
        try:
            fields[key] = json.loads(raw)
        except ValueError:
            fields[key] = raw
    with app_db(app).session() as session:
        c = categories.update_category(session, None, code, **fields)
    click.echo(f"category {c['code']}: " + ", ".join(f"{k}={c[k]}" for k in fields))


@cli.command("audit")
@click.option("--kind", default=None, help="worker, assignment, calendar, category")
@click.option("--key", default=None, help="the object's code")
@click.option("--limit", type=int, default=50, show_default=True)
def audit(kind: str | None, key: str | None, limit: int) -> None:
    """Changes to reference data, newest first."""
    app = make_app()
    with app_db(app).session() as session:
        rows = changes(session, ChangeQuery(kind=kind, key=key, limit=limit))
    for r in rows:
        click.echo(f"{r['at']}\t{r['actor']}\t{r['kind']} {r['key']}\t{r['action']}\t"
                   f"{json.dumps(r['before'], ensure_ascii=False)} -> {json.dumps(r['after'], ensure_ascii=False)}")
    click.echo(f"{len(rows)} change(s)")


@cli.group("buildings")
def buildings_group() -> None:
    """Buildings and their household counts (the grids' totals follow)."""


@buildings_group.command("show")
@click.argument("code")
def buildings_show(code: str) -> None:
    app = make_app()
    with app_db(app).session() as session:
        b = buildings.get_building(session, context(app), code)
    gone = f", demolished {b['demolished_at']}" if b["demolished_at"] else ""
    click.echo(f"building {b['code']} {b['address'] or ''}: {b['households']} households, grid {b['grid'] or '-'}{gone}")


@buildings_group.command("set")
@click.argument("code")
@click.option("--households", type=int, default=None)
@click.option("--address", default=None)
@click.option("--name", default=None)
@click.option("--note", default=None)
def buildings_set(code: str, households: int | None, address: str | None, name: str | None, note: str | None) -> None:
    """Change a building's households, address or name."""
    fields: dict[str, Any] = {k: v for k, v in (("households", households), ("address", address), ("name", name)) if v is not None}
    if not fields:
        raise click.UsageError("give --households, --address or --name")
    app = make_app()
    with app_db(app).session() as session:
        b = buildings.update_building(session, context(app), None, code, note=note, **fields)
    click.echo(f"building {b['code']}: {b['households']} households (grid {b['grid'] or '-'})")


@buildings_group.command("demolish")
@click.argument("code")
@click.option("--note", default=None)
def buildings_demolish(code: str, note: str | None) -> None:
    """The building is gone: its households leave the grid's count, its visit registers end."""
    app = make_app()
    with app_db(app).session() as session:
        b = buildings.demolish_building(session, context(app), None, code, note=note)
    click.echo(f"building {code} demolished; {len(b['registers_ended'])} visit register(s) ended")


@cli.group("households")
def households_group() -> None:
    """Households (门牌码) in bulk: a workbook or CSV in, the same columns out."""


file_commands(households_group, "households", households.import_households, households.export_households, households.COLUMNS,
              "code, building, unit, floor, room, persons")
file_commands(buildings_group, "buildings", building_files.import_buildings, building_files.export_buildings,
              building_files.SHEET.columns, "code, name, address, compound, use, floors, households, lon, lat, footprint")
file_commands(workers, "workers", people_files.import_workers, people_files.export_workers, people_files.WORKERS.columns,
              "code, name, phone, role, department, active")


@cli.group()
def assignments() -> None:
    """Who answers for which area, from when to when, in bulk (one at a time: `gridops workers assign`)."""


file_commands(assignments, "assignments", people_files.import_assignments, people_files.export_assignments,
              people_files.ASSIGNMENTS.columns, "area, worker, duty, valid_from, valid_to")
