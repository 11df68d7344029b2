"""`gridops grids …`: boundaries checked, imported, exported, compared; the levels."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import click

from gridops.boundaries.files import export
from gridops.boundaries.levels import add_level, list_levels
from gridops.boundaries.misfit import misfit
from gridops.boundaries.versions import ImportRefused, check, publish
from gridops.cli.base import app_db, cli, make_app, when
from gridops.core.errors import InvalidParameter
from gridops.core.spreadsheet import cell


@cli.group()
def grids() -> None:
    """Boundaries: check, import (publish a version), export, compare layers."""


def _print_report(report: dict[str, Any], as_json: bool) -> None:
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
    app = make_app()
    with app_db(app).session() as session:
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
@click.option("--supersede", is_flag=True, help="Cancel versions already scheduled after this one's effective time.")
def grids_import(path: Path, layer: str | None, crs: str | None, effective: str | None, accept_warnings: bool, tolerance_m2: float,
                 supersede: bool) -> None:
    """Check a boundary file and publish it as a new version of the layer."""
    app = make_app()
    layer = layer or app.config["PRIMARY_LAYER"]
    starting = when(effective, app, "effective")
    try:
        with app_db(app).session() as session:
            version, report = publish(session, path, layer, effective=starting, accept_warnings=accept_warnings, crs=crs,
                                      tolerance_m2=tolerance_m2, source=path.name, created_by="gridops grids import",
                                      supersede=supersede)
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
    app = make_app()
    layer = layer or app.config["PRIMARY_LAYER"]
    out_path = out_path or Path(f"{layer}.{fmt}")
    with app_db(app).session() as session:
        n = export(session, layer, fmt, out_path, when(at_text, app))
    click.echo(f"wrote {n} areas of layer {layer} to {out_path}")


@grids.command("levels")
def grids_levels() -> None:
    """The area levels, coarse to fine, with their code digits and household bounds."""
    app = make_app()
    with app_db(app).session() as session:
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
    low = high = None
    if households:
        try:
            low, high = (int(v) for v in households.split("-"))
        except ValueError:
            raise InvalidParameter("households", f"--households takes MIN-MAX, e.g. 300-500; got {households!r}.") from None
    app = make_app()
    with app_db(app).session() as session:
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
    app = make_app()
    with app_db(app).session() as session:
        rows = misfit(session, layer_a, layer_b, level_a=level_a, level_b=level_b,
                      at=when(at_text, app))
    if out_path:
        with out_path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([f"{layer_a}_code", f"{layer_b}_code", "area_share", "household_share"])
            for row in rows:
                for part in row["parts"]:
                    writer.writerow([cell(row["code"]), cell(part["code"]), part["area_share"], part["household_share"]])
    for row in sorted(rows, key=lambda r: r["largest_share"])[:20]:
        parts = ", ".join(f"{p['code']} {p['area_share']:.0%}/{p['household_share']:.0%}" for p in row["parts"][:4])
        click.echo(f"{row['code']}: split into {row['split_into']} ({parts})")
    aligned = sum(1 for r in rows if r["largest_share"] >= 0.95)
    click.echo(f"{len(rows)} {rows[0]['level'] if rows else 'areas'} of {layer_a}: {aligned} lie (95%+) in one {layer_b} area, "
               f"{len(rows) - aligned} are split" + (f"; every piece written to {out_path}" if out_path else ""))
