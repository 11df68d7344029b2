"""`gridops workers …`, `gridops assignments …`, `gridops calendar …`, `gridops categories …`, `gridops buildings …`,
`gridops households …` and `gridops audit`: the reference registers from the command line, through the same
functions as /api/v1/people, /assignments, /calendar, /categories, /buildings and /households.

Run on the server, a command acts as the system (its audit rows say `system`), as `gridops users` does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gridops.cli.base import Failure, app_db, cli, context, file_commands, make_app, naming_bad_rows, when
from gridops.core import clock
from gridops.core.timeparse import parse_date
from gridops.incidents.doors import door_url
from gridops.registers import building_files, buildings, calendars, categories, households, labels, people, people_files, taxonomy
from gridops.registers.audit import ChangeQuery, changes
from gridops.registers.categories import EDITABLE
from gridops.registers.files import text_of, write_file


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
    """Import FILE (CSV: date,kind[,name]); each year it gives whole is replaced (a few days spilling into
    another year are set one by one), all or nothing."""
    app = make_app()
    with naming_bad_rows(), app_db(app).session() as session:
        done = calendars.import_days(session, None, text_of(file.read_bytes()), note=note or file.name)
    edges = f"; days of {', '.join(map(str, done.merged_years))} set, the rest of those years kept" if done.merged_years else ""
    click.echo(f"calendar: {done.days} day(s) imported for {', '.join(map(str, done.years))} "
               f"(replacing {done.replaced}){edges}")


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
        stages = "/".join("-" if c[k] is None else str(c[k]) for k in categories.LIMITS)
        click.echo(f"{c['group_code'] or '-'}\t{c['code']}\t{c['name']}\t{c['urgency']}\t"
                   f"accept/handle/verify {stages} {unit}\t{c['handler']}")
    click.echo(f"{len(found)} categories")


@categories_group.command("groups")
def categories_groups() -> None:
    """The classes (大类), in the pages' order."""
    app = make_app()
    with app_db(app).session() as session:
        found = categories.list_groups(session)
    for g in found:
        click.echo(f"{g['code']}\t{g['name']}\t{g['name_en'] or ''}\t{g['categories']} categories")
    click.echo(f"{len(found)} classes")


@categories_group.command("group")
@click.argument("code")
@click.option("--name", default=None, help="its Chinese name (needed for a new class)")
@click.option("--name-en", default=None)
@click.option("--position", type=int, default=None, help="where lists show it (lower first)")
@click.option("--note", default=None)
def categories_group_set(code: str, name: str | None, name_en: str | None, position: int | None, note: str | None) -> None:
    """Add the class CODE, or rename it or move it in the order."""
    fields = {k: v for k, v in (("name", name), ("name_en", name_en), ("position", position)) if v is not None}
    app = make_app()
    with app_db(app).session() as session:
        g = categories.set_group(session, None, code, note=note, **fields)
    click.echo(f"class {g['code']}: {g['name']}")


@categories_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", default=None)
def categories_import(file: Path, note: str | None) -> None:
    """Import an event taxonomy from FILE (.xlsx or CSV: 大类代码, 大类名称, 小类代码, 小类名称, 紧急程度, 受理时限,
    处置时限, 核查时限 (hours) …, or the export's own columns): all rows or none."""
    app = make_app()
    with naming_bad_rows(), app_db(app).session() as session:
        done = taxonomy.import_taxonomy(session, None, file.read_bytes(), name=file.name, note=note)
    click.echo(f"categories: {done.rows} row(s) from {file.name}: {len(done.created)} added, {len(done.updated)} changed; "
               f"classes: {len(done.groups_created)} added, {len(done.groups_updated)} renamed")


@categories_group.command("export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help=".csv or .xlsx")
def categories_export(out: Path) -> None:
    """Write the classes and categories, as the import reads them."""
    app = make_app()
    with app_db(app).session() as session:
        rows = taxonomy.export_taxonomy(session)
    out.write_bytes(write_file(taxonomy.COLUMNS, rows, "categories", "xlsx" if out.suffix.lower() == ".xlsx" else "csv"))
    click.echo(f"categories: {len(rows)} row(s) written to {out}")


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


@buildings_group.command("labels")
@click.argument("code")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help=".pdf (A4 sheets of every door) or .png (one label: give --door)")
@click.option("--door", default=None, help="Only this door's label (a household's code, or the building's own for its entrance).")
@click.option("--no-entrance", is_flag=True, help="No label for the building's entrance.")
@click.option("--base-url", default=None, help="The address residents reach gridops at (default: GRIDOPS_PUBLIC_URL).")
def buildings_labels(code: str, out: Path, door: str | None, no_entrance: bool, base_url: str | None) -> None:
    """Write a building's QR door labels to print: each opens the resident's report page of its door."""
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in labels.FORMATS:
        raise click.UsageError(f"--out must end in .pdf or .png; got {out.name}")
    app = make_app()
    base = base_url or app.config["PUBLIC_URL"]
    if not base:
        raise Failure("the labels need the address residents reach gridops at: set GRIDOPS_PUBLIC_URL "
                      "(https://grid.example.gov.cn) or give --base-url.")
    with app_db(app).session() as session:
        sheet = labels.building_labels(session, context(app), None, code, lambda c: door_url(base, c), door=door,
                                       entrance=not no_entrance)
    out.write_bytes(labels.render(sheet, fmt))
    pages = -(-len(sheet.labels) // (labels.COLUMNS * labels.ROWS)) if fmt == "pdf" else 1
    click.echo(f"building {sheet.building}: {len(sheet.labels)} label(s) for {base.rstrip('/')}/r/… written to {out}"
               + (f" ({pages} A4 page(s))" if fmt == "pdf" else ""))


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
