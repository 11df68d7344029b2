"""`gridops rosters …` and `gridops departments …`: weekly rotas, the days that differ from them (a day's own
windows, leave 请假, swaps 换班), and departments' office hours — the same functions as /api/v1/people/<code>/shifts,
/days, /leave, /api/v1/rosters/swap and /api/v1/departments. Run on the server, a command acts as the system."""

from __future__ import annotations

from datetime import timedelta

import click

from gridops.cli.base import app_db, cli, context, make_app
from gridops.core import clock
from gridops.core.errors import InvalidParameter
from gridops.core.timeparse import parse_date
from gridops.registers import rosters


def _windows(specs: tuple[str, ...]) -> list[dict[str, str]]:
    """"08:30-17:30" → a window (the same spelling as office hours)."""
    out = []
    for spec in specs:
        start, sep, end = spec.partition("-")
        if not sep:
            raise InvalidParameter("window", f"{spec!r} is not a window like 08:30-17:30.")
        out.append({"start": start.strip(), "end": end.strip()})
    return out


@cli.group("rosters")
def rosters_group() -> None:
    """Who is on shift when: weekly rotas, leave, swaps, a day's own windows."""


@rosters_group.command("show")
@click.argument("code")
@click.option("--days", default=14, show_default=True, help="How many days ahead to list the changes to the week.")
def rosters_show(code: str, days: int) -> None:
    """A worker's week, then the days of the next DAYS that differ from it."""
    app = make_app()
    today = clock.today(app.config["TIMEZONE"])
    with app_db(app).session() as session:
        week = rosters.week(session, None, code)
        changed = rosters.days_of(session, None, code, today, today + timedelta(days=days))
    for w in week:
        click.echo(f"{w['weekday_name']}\t{w['start']}-{w['end']}")
    for d in changed:
        spans = ", ".join(f"{w['start']}-{w['end']}" for w in d["windows"]) or "off"
        other = f" with {d['swap_with']}" if d["swap_with"] else ""
        click.echo(f"{d['day']} {d['weekday_name']}\t{d['reason']}{other}\t{spans}")
    click.echo(f"{len(week)} weekly window(s), {len(changed)} day(s) changed")


@rosters_group.command("week")
@click.argument("code")
@click.argument("windows", nargs=-1)
@click.option("--note", default=None)
def rosters_week(code: str, windows: tuple[str, ...], note: str | None) -> None:
    """Replace a worker's week: WINDOWS like 0:08:30-17:30 (weekday 0 = Monday … 6 = Sunday)."""
    parsed = []
    for spec in windows:
        wd, sep, span = spec.partition(":")
        if not sep or not wd.isdigit():
            raise click.BadParameter(f"{spec!r}: give the weekday first, like 0:08:30-17:30", param_hint="WINDOWS")
        parsed += [{"weekday": int(wd), **w} for w in _windows((span,))]
    app = make_app()
    with app_db(app).session() as session:
        week = rosters.set_week(session, None, code, parsed, note=note)
    click.echo(f"{code}: {len(week)} weekly window(s)")


@rosters_group.command("day")
@click.argument("code")
@click.argument("day")
@click.argument("windows", nargs=-1)
@click.option("--clear", is_flag=True, help="The day follows the week again.")
@click.option("--note", default=None)
def rosters_day(code: str, day: str, windows: tuple[str, ...], clear: bool, note: str | None) -> None:
    """Give worker CODE their own WINDOWS on DAY (08:30-12:00 …; none: a day off), or --clear it."""
    app = make_app()
    with app_db(app).session() as session:
        if clear:
            rosters.clear_day(session, None, code, parse_date(day, "day"), note=note)
            click.echo(f"{code} on {day}: as their week")
            return
        d = rosters.set_day(session, None, code, parse_date(day, "day"), _windows(windows), note=note)
    click.echo(f"{code} on {d['day']}: " + (", ".join(f"{w['start']}-{w['end']}" for w in d["windows"]) or "off"))


@rosters_group.command("leave")
@click.argument("code")
@click.argument("first")
@click.argument("last", required=False)
@click.option("--note", default=None)
def rosters_leave(code: str, first: str, last: str | None, note: str | None) -> None:
    """Leave (请假) of worker CODE from FIRST to LAST (one day without LAST)."""
    app = make_app()
    start = parse_date(first, "first")
    with app_db(app).session() as session:
        done = rosters.leave(session, None, code, start, parse_date(last, "last") if last else start, note=note)
    click.echo(f"{code} on leave {done['first']} to {done['last']} ({done['days']} day(s)); "
               f"{done['open_tasks']} open task(s) stay theirs")


@rosters_group.command("swap")
@click.argument("day")
@click.argument("a")
@click.argument("b")
@click.option("--note", default=None)
def rosters_swap(day: str, a: str, b: str, note: str | None) -> None:
    """Workers A and B swap DAY (换班): each works the other's windows."""
    app = make_app()
    with app_db(app).session() as session:
        done = rosters.swap(session, context(app), None, parse_date(day, "day"), a, b, note=note)
    for d, code in zip(done, (a, b), strict=True):
        click.echo(f"{code} on {d['day']}: " + (", ".join(f"{w['start']}-{w['end']}" for w in d["windows"]) or "off"))


@cli.group("departments")
def departments_group() -> None:
    """Departments and their office hours."""


@departments_group.command("list")
def departments_list() -> None:
    app = make_app()
    with app_db(app).session() as session:
        found = rosters.departments(session)
    for d in found:
        click.echo(f"{d['code']}\t{d['name']}\t{d['office_hours'] or 'city: ' + app.config['OFFICE_HOURS']}")
    click.echo(f"{len(found)} department(s)")


@departments_group.command("hours")
@click.argument("code")
@click.argument("hours", required=False)
@click.option("--note", default=None)
def departments_hours(code: str, hours: str | None, note: str | None) -> None:
    """Set department CODE's own office HOURS (09:00-12:00,14:00-18:00); without HOURS, the city's again."""
    app = make_app()
    with app_db(app).session() as session:
        d = rosters.set_office_hours(session, None, code, hours, note=note)
    label = d["office_hours"] or f"the city's ({app.config['OFFICE_HOURS']})"
    click.echo(f"{code}: office hours {label}")
