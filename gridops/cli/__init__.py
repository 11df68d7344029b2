"""The `gridops` command: one module per command group, each a thin adapter over the same
application functions the API calls; each ends with one line saying what it did."""

from gridops.cli import demo, grids, locate, notify, patrols, plan, registers, rosters, schema, serve, sweep, users
from gridops.cli.base import cli

__all__ = ["cli", "main", "demo", "grids", "locate", "notify", "patrols", "plan", "registers", "rosters", "schema", "serve",
           "sweep", "users"]


def main() -> None:
    cli(prog_name="gridops")
