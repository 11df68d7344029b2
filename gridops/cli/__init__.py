"""The `gridops` command. Each command calls the same functions as the API and
ends with one line saying what it did; failures are one sentence, not a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import json

import click

from gridops.geo.errors import GeoError

from gridops.core.errors import GridopsError


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
    from gridops.web.app import create_app

    app = create_app(overrides or None)
    _close_with_command(app.extensions["gridops.db"])
    return app


def _db():
    from gridops.core.config import load_config
    from gridops.core.db import Database

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
    from gridops.core.health import health

    app = _app()
    report = health(app.extensions["gridops.db"])
    click.echo(
        f"gridops: serving http://{host}:{port} on {report['spatial_library']} {report['spatial_version']} "
        f"({report['database']['url']})" + (f" with {workers} gunicorn workers" if workers else "")
    )
    interval = app.config["SWEEP_INTERVAL_SECONDS"]
    if workers:
        _gunicorn(host, port, workers, interval)
    else:
        if interval > 0:
            _start_sweeper(app, interval)
        app.run(host=host, port=port, threaded=True, use_reloader=False)


def _start_sweeper(app, interval: float):
    from gridops.incidents.sweeper import Sweeper

    sweeper = Sweeper(lambda: _context(app), app.extensions["gridops.db"], interval)
    sweeper.start()
    return sweeper


def _gunicorn(host: str, port: int, workers: int, sweep_interval: float) -> None:
    from gunicorn.app.base import BaseApplication

    def when_ready(_server) -> None:
        # one sweeper for the whole server, in the master, however many workers there are
        if sweep_interval > 0:
            _start_sweeper(_app(), sweep_interval)

    class _App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            # threads: a live-feed client holds its connection open; sync workers would be pinned by it
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 16)
            # open feeds would hold a graceful stop for its whole timeout; their clients resume with Last-Event-ID
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("accesslog", "-")
            self.cfg.set("when_ready", when_ready)

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
    from gridops.core.schema import upgrade

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
    from gridops.core.schema import downgrade

    database = _db()
    downgrade(database, revision)
    click.echo(f"schema downgraded to {revision} on {database.backend}")


@db.command("check")
def db_check() -> None:
    """Which backend, which spatial library, and whether the schema is current."""
    st = _db().status()
    from gridops.core.health import SPATIAL_LIBRARY

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
    from gridops.demo.city import DEFAULT_END, generate_city, write_city

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
    from gridops.demo.loader import load_city

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


@cli.command("demo-users")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the tokens (kept locally: they are shown nowhere else).")
def demo_users(out_path: Path) -> None:
    """Make one user of each role on the demo city's first grid and write their tokens (again: nothing,
    while those tokens still work)."""
    from sqlalchemy import select

    from gridops.access.users import add_user
    from gridops.core.models import Assignment, Worker

    app = _app()
    if out_path.exists():
        from gridops.access.users import principal_for

        tokens = [ln.split("\t")[-1] for ln in out_path.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
        with app.extensions["gridops.db"].session() as session:
            if tokens and principal_for(session, tokens[0]) is not None:
                click.echo(f"demo users already made: their tokens are in {out_path}")
                return
    lines = []
    with app.extensions["gridops.db"].session() as session:
        grid = session.scalar(select(Assignment.area_code).where(Assignment.duty == "primary")
                              .join(Worker, Worker.id == Assignment.worker_id).where(Worker.role == "grid_worker")
                              .order_by(Assignment.area_code).limit(1))
        if grid is None:
            raise click.ClickException("no grid has a worker yet: load a city first (gridops load DIR)")

        def on_duty(duty: str) -> str:
            return session.scalar(select(Worker.code).join(Assignment, Assignment.worker_id == Worker.id)
                                  .where(Assignment.area_code == grid, Assignment.duty == duty))

        community = grid[:12]
        for name, role, kw in (
            ("demo-grid-worker", "grid_worker", {"worker_code": on_duty("primary")}),
            ("demo-grid-leader", "grid_leader", {"worker_code": on_duty("leader")}),
            ("demo-community", "community_admin", {"areas": [community]}),
            ("demo-resident", "resident", {}),
            ("demo-command-centre", "command_centre", {}),
            ("demo-planner", "planner", {}),
            ("demo-admin", "admin", {}),
        ):
            user, token = add_user(session, name, role, layer=app.config["PRIMARY_LAYER"], **kw)
            lines.append(f"{role}\t{name}\t{token}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("# role\tname\ttoken (sign in at /login; grid worker: the phone page /worker)\n" + "\n".join(lines) + "\n",
                        encoding="utf-8")
    out_path.chmod(0o600)
    click.echo(f"made {len(lines)} demo users on grid {grid}; their tokens are in {out_path}")


@cli.group()
def grids() -> None:
    """Boundaries: check, import (publish a version), export, compare layers."""


def _print_report(report: dict, as_json: bool) -> None:
    import json

    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    areas = ", ".join(f"{n} {lv}" for lv, n in report["areas"].items())
    carried = ", ".join(f"{n} {lv}" for lv, n in report["carried_over"].items()) or "nothing"
    click.echo(f"{report['source']}: {areas} (carried over from the version in force: {carried})")
    for f in report["errors"] + report["warnings"]:
        where = f" at {f['location'][0]:.6f},{f['location'][1]:.6f}" if f.get("location") else ""
        click.echo(f"  {f['severity']:7} {f['kind']:17} {f['message']}{where}")
    click.echo(f"{len(report['errors'])} error(s), {len(report['warnings'])} warning(s)")


_layer_option = click.option("--layer", default=None, help="Layer (default: the primary layer, 'grid').")
_crs_option = click.option("--crs", default=None, help="Override the file's CRS: an EPSG code, or gcj02 / bd09.")


@grids.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_layer_option
@_crs_option
@click.option("--tolerance-m2", type=float, default=1.0, show_default=True, help="Gaps and overlaps up to this are ignored.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (the same as the API's).")
def grids_check(path: Path, layer: str | None, crs: str | None, tolerance_m2: float, as_json: bool) -> None:
    """Check a boundary file without storing anything; exit 1 if it has errors."""
    from gridops.boundaries.versions import check

    app = _app()
    with app.extensions["gridops.db"].session() as session:
        report, _ = check(session, path, layer or app.config["PRIMARY_LAYER"], crs=crs, tolerance_m2=tolerance_m2)
    _print_report(report.as_json(), as_json)
    if report.errors:
        sys.exit(1)


@grids.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_layer_option
@_crs_option
@click.option("--effective", default=None, help="When the new version takes effect (ISO time; default now).")
@click.option("--accept-warnings", is_flag=True, help="Publish despite household-count warnings (never despite errors).")
@click.option("--tolerance-m2", type=float, default=1.0, show_default=True)
def grids_import(path: Path, layer: str | None, crs: str | None, effective: str | None, accept_warnings: bool, tolerance_m2: float) -> None:
    """Check a boundary file and publish it as a new version of the layer."""
    from gridops.boundaries.versions import ImportRefused, publish

    app = _app()
    layer = layer or app.config["PRIMARY_LAYER"]
    when = _parse_time(effective, app.config["TIMEZONE"]) if effective else None
    try:
        with app.extensions["gridops.db"].session() as session:
            version, report = publish(session, path, layer, effective=when, accept_warnings=accept_warnings, crs=crs,
                                      tolerance_m2=tolerance_m2, source=path.name, created_by="gridops grids import")
            number, starts = version.number, version.effective_from
    except ImportRefused as refused:
        _print_report(refused.details["report"], False)
        raise
    _print_report(report.as_json(), False)
    click.echo(f"published {layer} version {number}, effective {starts.isoformat()}")


@grids.command("export")
@_layer_option
@click.option("--format", "fmt", type=click.Choice(["geojson", "gpkg", "shp"]), default="geojson", show_default=True)
@click.option("--at", "at_text", default=None, help="The version in force at this ISO time (default now).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
def grids_export(layer: str | None, fmt: str, at_text: str | None, out_path: Path | None) -> None:
    """Write a layer's boundaries (code, name, level, parent_code, households)."""
    from gridops.boundaries.versions import export

    app = _app()
    layer = layer or app.config["PRIMARY_LAYER"]
    out_path = out_path or Path(f"{layer}.{fmt}")
    with app.extensions["gridops.db"].session() as session:
        n = export(session, layer, fmt, out_path, _parse_time(at_text, app.config["TIMEZONE"]) if at_text else None)
    click.echo(f"wrote {n} areas of layer {layer} to {out_path}")


@grids.command("levels")
def grids_levels() -> None:
    """The area levels, coarse to fine, with their code digits and household bounds."""
    from gridops.boundaries.versions import list_levels

    app = _app()
    with app.extensions["gridops.db"].session() as session:
        for lv in list_levels(session):
            bounds = f"{lv.households_min}–{lv.households_max} households" if lv.households_min is not None else ""
            click.echo(f"{lv.depth:>3}  {lv.code:<16} {lv.name} ({lv.name_en}), {lv.code_digits} code characters  {bounds}")


@grids.command("add-level")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--name-en", default=None)
@click.option("--depth", type=int, required=True, help="Order in its tree (distinct across all levels).")
@click.option("--code-digits", type=int, required=True, help="Characters this level adds to its parent's code.")
@click.option("--households", default=None, help="Bounds as MIN-MAX (a warning outside them).")
def grids_add_level(code: str, name: str, name_en: str | None, depth: int, code_digits: int, households: str | None) -> None:
    """Define a level for a new layer's tree."""
    from gridops.boundaries.versions import add_level
    from gridops.core.errors import InvalidParameter

    low = high = None
    if households:
        try:
            low, high = (int(v) for v in households.split("-"))
        except ValueError:
            raise InvalidParameter("households", f"--households takes MIN-MAX, e.g. 300-500; got {households!r}.") from None
    app = _app()
    with app.extensions["gridops.db"].session() as session:
        add_level(session, code, name, depth, code_digits, name_en=name_en, households_min=low, households_max=high)
    click.echo(f"level {code} added at depth {depth}")


@grids.command("misfit")
@click.argument("layer_a")
@click.argument("layer_b")
@click.option("--level-a", default=None)
@click.option("--level-b", default=None)
@click.option("--at", "at_text", default=None)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="CSV of every piece.")
def grids_misfit(layer_a: str, layer_b: str, level_a: str | None, level_b: str | None, at_text: str | None, out_path: Path | None) -> None:
    """How each area of LAYER_A is split by LAYER_B's boundaries (share of ground and of households)."""
    import csv

    from gridops.boundaries.versions import misfit

    app = _app()
    with app.extensions["gridops.db"].session() as session:
        rows = misfit(session, layer_a, layer_b, level_a=level_a, level_b=level_b,
                      at=_parse_time(at_text, app.config["TIMEZONE"]) if at_text else None)
    if out_path:
        with out_path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([f"{layer_a}_code", f"{layer_b}_code", "area_share", "household_share"])
            for row in rows:
                for part in row["parts"]:
                    writer.writerow([row["code"], part["code"], part["area_share"], part["household_share"]])
    for row in sorted(rows, key=lambda r: r["largest_share"])[:20]:
        parts = ", ".join(f"{p['code']} {p['area_share']:.0%}/{p['household_share']:.0%}" for p in row["parts"][:4])
        click.echo(f"{row['code']}: split into {row['split_into']} ({parts})")
    aligned = sum(1 for r in rows if r["largest_share"] >= 0.95)
    click.echo(f"{len(rows)} {rows[0]['level'] if rows else 'areas'} of {layer_a}: {aligned} lie (95%+) in one {layer_b} area, "
               f"{len(rows) - aligned} are split" + (f"; every piece written to {out_path}" if out_path else ""))


@cli.command()
def sweep() -> None:
    """Find overdue work now: supervise (督办), notify, escalate one tier up the ladder."""
    from gridops.incidents.sweeper import sweep as run_sweep

    app = _app()
    done = run_sweep(app.extensions["gridops.db"], _context(app))
    click.echo(f"swept: {len(done.supervised)} supervised, {len(done.escalated)} escalated, "
               f"{len(done.visits_scheduled)} visits scheduled, "
               f"{len(done.overdue_visits)} overdue visits notified, {len(done.skipped)} skipped (changed meanwhile)")


@cli.command("render-maps")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("static/maps"), show_default=True)
@click.option("--since", default=None, help="The risk maps' window start (default: 8 weeks before --until).")
@click.option("--until", default=None, help="The window end (default: now).")
@click.option("--area", default=None, help="Only this area (a code).")
def render_maps_command(out_dir: Path, since: str | None, until: str | None, area: str | None) -> None:
    """Write the maps as standalone HTML files for reports: the risk map of all incidents and of each
    category group, and the live map as of now (every script, style and image inside the file)."""
    from sqlalchemy import select

    from gridops.analytics.mapping import render_maps
    from gridops.core.models import Category

    app = _app()
    base = {k: v for k, v in {"since": since, "until": until, "area": area}.items() if v}
    with app.extensions["gridops.db"].session() as session:
        groups = sorted({g for g in session.scalars(select(Category.group_code)) if g})
    queries = [("risk-all", base)] + [(f"risk-{g}", {**base, "category": g}) for g in groups]
    written = render_maps(app, out_dir, queries, progress=_progress)
    total = sum(r.bytes for r in written)
    click.echo(f"rendered {len(written)} maps into {out_dir} ({total / 1e6:.1f} MB): " + ", ".join(r.path.name for r in written))


@cli.group()
def patrols() -> None:
    """Patrol visits (走访): who needs visiting, and their visit tasks."""


@patrols.command("schedule")
@click.option("--horizon-days", type=click.FloatRange(0, 31), default=1.0, show_default=True,
              help="Schedule the visits falling due within this many days.")
def patrols_schedule(horizon_days: float) -> None:
    """Make the visit tasks that fall due (every sweep does this too); running it again adds nothing."""
    from gridops.field.patrols import schedule_visits

    app = _app()
    with app.extensions["gridops.db"].session() as session:
        done = schedule_visits(session, _context(app), horizon_days=horizon_days)
    unassigned = f"; {len(done.unassigned)} registers have no worker on their grid" if done.unassigned else ""
    click.echo(f"scheduled {len(done.created)} visits{unassigned}")


@patrols.command("add")
@click.argument("household")
@click.option("--kind", required=True, type=click.Choice(["elderly_alone", "left_behind_child", "disabled", "special_care"]))
@click.option("--every", "interval_days", type=click.IntRange(1, 366), default=None, help="Days between visits (default by kind).")
@click.option("--person", default=None)
@click.option("--phone", default=None)
@click.option("--id-number", default=None)
def patrols_add(household: str, kind: str, interval_days: int | None, person: str | None, phone: str | None,
                id_number: str | None) -> None:
    """Register someone at HOUSEHOLD (the code on the door) who needs regular visits."""
    from gridops.field.patrols import add_register

    app = _app()
    with app.extensions["gridops.db"].session() as session:
        reg = add_register(session, _context(app), None, household=household, kind=kind, interval_days=interval_days,
                           person=person, phone=phone, id_number=id_number)
    click.echo(f"register {reg['id']}: {reg['kind_name']} {reg['person'] or ''} at {reg['household']} (grid {reg['grid']}), "
               f"every {reg['interval_days']} days, next visit from {reg['next_visit_from']}")


@patrols.command("list")
@click.option("--area", default=None, help="Only this grid or community (a code prefix).")
def patrols_list(area: str | None) -> None:
    """The registers, their last visit and their open visit (ID numbers are shown masked)."""
    from gridops.access.users import Principal
    from gridops.field.patrols import registers

    app = _app()
    viewer = Principal(0, "cli", "command_centre")
    with app.extensions["gridops.db"].session() as session:
        rows = registers(session, _context(app), viewer, area)
    for r in rows:
        visit = f"visit {r['open_visit']['task']} due {r['open_visit']['due_at']}" if r["open_visit"] else "no open visit"
        click.echo(f"{r['id']}\t{r['grid']}\t{r['kind']}\t{r['person'] or ''}\t{r['household'] or r['building']}\t"
                   f"last {r['last_visit_at'] or 'never'}\t{visit}")
    click.echo(f"{len(rows)} registers")


def _context(app):
    from gridops.web.app import use_case_context

    return use_case_context(app)


@cli.group()
def users() -> None:
    """Users and their tokens."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, help="resident, grid_worker, grid_leader, community_admin, department, command_centre, planner, admin")
@click.option("--area", "areas", multiple=True, help="An area code the user answers for (repeat for several).")
@click.option("--worker", "worker_code", default=None, help="Link to an existing worker (its code) instead of making one.")
@click.option("--department", default=None, help="For a department user: police, fire, sanitation, …")
@click.option("--phone", default=None)
def users_add(name: str, role: str, areas: tuple[str, ...], worker_code: str | None, department: str | None, phone: str | None) -> None:
    """Make a user; the token is printed once, as the last word of the output."""
    from gridops.access.users import add_user

    app = _app()
    with app.extensions["gridops.db"].session() as session:
        user, token = add_user(session, name, role, areas=list(areas), worker_code=worker_code, department=department,
                               phone=phone, layer=app.config["PRIMARY_LAYER"])
        from sqlalchemy import select

        from gridops.core.models import UserArea

        scope = ", ".join(session.scalars(select(UserArea.area_code).where(UserArea.user_id == user.id))) or "no areas"
        click.echo(f"user {user.id} {name} ({role}; {scope}) token: {token}")


@users.command("revoke")
@click.argument("user")
def users_revoke(user: str) -> None:
    """Deactivate a user (by id, or by name when it is unique): the token stops working at once."""
    from gridops.access.users import revoke

    app = _app()
    with app.extensions["gridops.db"].session() as session:
        for u in revoke(session, user):
            click.echo(f"user {u.id} {u.name} ({u.role}) revoked")


@users.command("list")
def users_list() -> None:
    """Users, their roles and whether they are active (tokens are never shown again)."""
    from sqlalchemy import select

    from gridops.core.models import AppUser

    app = _app()
    with app.extensions["gridops.db"].session() as session:
        for u in session.scalars(select(AppUser).order_by(AppUser.id)):
            click.echo(f"{u.id}\t{u.name}\t{u.role}\t{'active' if u.active else 'revoked'}")


@cli.command()
@click.argument("input_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--crs", default="wgs84", show_default=True, help="CRS of rows without a crs column.")
@click.option("--at", "at_text", default=None, help="Locate as of this ISO time (default: now).")
def locate(input_csv: Path, out_path: Path, crs: str, at_text: str | None) -> None:
    """Place every point of a CSV (lon,lat[,crs][,id]) in its grid and micro-grid."""
    from gridops.geo.crs import crs_name

    from gridops.boundaries.batch import csv_chunks, locate_batch, parse_csv

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
@cli.group()
def plan() -> None:
    """Planners: generate, rebalance and publish grid boundaries."""


def _bounds_text(metrics: dict) -> str:
    text = (f"{metrics['grids']} grids ({100 * metrics['grids_within_bounds']:.0f}% within bounds, "
            f"{100 * metrics['grids_contiguous']:.0f}% contiguous, mean Polsby-Popper {metrics['mean_polsby_popper']:.2f}"
            + (f", {100 * metrics['boundary_along_streets']:.0f}% of boundaries along streets" if "boundary_along_streets" in metrics else "")
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
def plan_generate(community, source, households_column, code_column, prefix, streets, barriers, crs, grid_households,
                  micro_households, out_path) -> None:
    """Propose grids of 300-500 households and their micro-grids: compact, contiguous, along streets."""
    if (community is None) == (source is None):
        raise click.UsageError("give --community CODE (from the database) or --from FILE (a vector file).")
    if source is not None:
        _plan_file(source, households_column, code_column, prefix, streets, barriers, crs, grid_households,
                   micro_households, out_path)
        return
    _plan_draft(community, "generate", grid_households, micro_households, out_path)


def _plan_file(source, households_column, code_column, prefix, streets, barriers, crs, grid_households, micro_households,
               out_path) -> None:
    from gridops.geo.districting import Bounds
    from gridops.geo.plan import Ground, PlanError
    from gridops.geo.planfile import read_lines, read_units, write_plan

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
        raise _Failure(str(exc)) from None
    _echo_problems(result.problems)
    click.echo(f"wrote {out_path}: {_bounds_text(result.metrics)}")


def _plan_draft(community: str, method: str, grid_households, micro_households, out_path) -> None:
    from gridops.planning.drafts import create_draft, draft_geojson

    app = _app()
    with app.extensions["gridops.db"].session() as session:
        draft = create_draft(session, None, app.config["PRIMARY_LAYER"], community, method,
                             grid=tuple(grid_households), micro=tuple(micro_households))
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
    click.echo(f"  publish with: gridops plan publish {draft['id']} --effective TIME")


@plan.command("rebalance")
@click.option("--community", required=True)
@click.option("--grid-households", nargs=2, type=int, default=(None, None))
@click.option("--micro-households", nargs=2, type=int, default=(None, None))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
def plan_rebalance(community, grid_households, micro_households, out_path) -> None:
    """Move as few households as bring every published grid of a community back within bounds (a draft)."""
    _plan_draft(community, "rebalance", grid_households, micro_households, out_path)


@plan.command("publish")
@click.argument("draft_id", type=int)
@click.option("--effective", default=None, help="When the new boundaries take effect (ISO time; default now).")
@click.option("--accept-warnings", is_flag=True, help="Publish although the checks found something (never despite errors).")
def plan_publish(draft_id: int, effective: str | None, accept_warnings: bool) -> None:
    """Publish a draft as the next boundary version."""
    from gridops.web.app import use_case_context
    from gridops.planning.drafts import publish_draft

    app = _app()
    at = _parse_time(effective, app.config["TIMEZONE"]) if effective else None
    with app.extensions["gridops.db"].session() as session:
        done = publish_draft(session, use_case_context(app), draft_id, None, at, accept_warnings)
    p = done["published"]
    click.echo(f"published {p['layer']} version {p['version']}, effective {p['effective_from']}: "
               f"{p['incidents_noted']} open incidents stay with their assignee (noted), "
               f"{p['patrol_visits_moved']} patrol visits moved, {p['assignments_ended']} assignments of retired grids ended")


@plan.command("list")
@click.option("--community", default=None)
def plan_list(community: str | None) -> None:
    """The drafts, newest first."""
    from gridops.planning.drafts import list_drafts

    app = _app()
    with app.extensions["gridops.db"].session() as session:
        for d in list_drafts(session, community):
            m = d["metrics"]
            click.echo(f"{d['id']}\t{d['community']}\t{d['status']}\t{d['method']}\trev {d['revision']}\t"
                       f"{m.get('grids', 0)} grids\t{100 * m.get('grids_within_bounds', 0):.0f}% in bounds")


def _parse_time(text: str, tz: str):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from gridops.core.errors import InvalidParameter

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
