"""`gridops locate`: every point of a CSV placed, with a progress bar."""

from __future__ import annotations

from pathlib import Path

import click

from gridops.geo.crs import crs_name

from gridops.boundaries.batch import csv_chunks, locate_batch, parse_csv
from gridops.cli.base import cli, make_app, progress, when


@cli.command()
@click.argument("input_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--crs", default="wgs84", show_default=True, help="CRS of rows without a crs column.")
@click.option("--at", "at_text", default=None, help="Locate as of this ISO time (default: now).")
def locate(input_csv: Path, out_path: Path, crs: str, at_text: str | None) -> None:
    """Place every point of a CSV (lon,lat[,crs][,id]) in its grid and micro-grid."""
    app = make_app()
    geocoder = app.extensions["gridops.geocoder"]
    at = when(at_text, app)
    with input_csv.open(encoding="utf-8-sig", newline="") as fh:
        batch = parse_csv(fh, max_points=10**9, default_crs=crs_name(crs))
    step = 50_000
    counts: dict[str, int] = {}
    with out_path.open("w", encoding="utf-8", newline="") as out, progress(range(0, len(batch), step), "locating") as bar:
        for start in bar:
            result = locate_batch(geocoder, batch.slice(start, start + step), at)
            for piece in csv_chunks(result, header=start == 0):
                out.write(piece)
            for row in result.rows:
                counts[row["status"]] = counts.get(row["status"], 0) + 1
    click.echo(f"located {len(batch)} points into {out_path}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
