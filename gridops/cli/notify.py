"""`gridops notify`: the message dispatcher as its own process (as many as wanted on PostGIS), and what
became of the messages."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from gridops.cli.base import app_db, cli, make_app
from gridops.messages.deliveries import CHANNELS, STATUSES, summary
from gridops.messages.dispatcher import Dispatcher
from gridops.registers.messaging import retry_failed


@cli.group()
def notify() -> None:
    """Deliver the messages: SMS, 企业微信, 钉钉, e-mail."""


@notify.command("run")
@click.option("--once", is_flag=True, help="One pass (fan out, send what is due), then stop.")
@click.option("--idle", default=None, type=float, help="Seconds between passes when there is nothing to send.")
def run(once: bool, idle: float | None) -> None:
    """Deliver until stopped (Ctrl-C, SIGTERM); several may run at once without sending a message twice."""
    app = make_app()
    dispatcher = Dispatcher(app_db(app), app.config)
    wait = idle if idle is not None else (app.config["NOTIFY_INTERVAL_SECONDS"] or 0.5)
    stop = threading.Event()

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if once:
        done = dispatcher.step()
        dispatcher.close()
    else:
        done = dispatcher.run(stop, wait)
    click.echo(f"notify: {done.fanned} notifications fanned out, {done.sent} sent, {done.retried} to retry, "
               f"{done.failed} failed")


@notify.command("status")
@click.option("--last", default=10, show_default=True, type=click.IntRange(0, 1000), help="How many of the latest failures to list.")
def status(last: int) -> None:
    """Copies per status and channel, and the latest failures with the gateway's reason."""
    app = make_app()
    with app_db(app).session() as session:
        found = summary(session, last)
    table = found["channels"]
    if table:
        click.echo(f"{'channel':<12}" + "".join(f"{s:>11}" for s in STATUSES))
        for channel in sorted(table):
            click.echo(f"{channel:<12}" + "".join(f"{table[channel][s]:>11}" for s in STATUSES))
    for f in found["failures"]:
        click.echo(f"failed #{f['id']} {f['channel']} {f['kind']} to {f['address']} after {f['attempts']} tries: {f['error']}")
    totals = {s: sum(row[s] for row in table.values()) for s in STATUSES}
    click.echo("notify: " + ", ".join(f"{totals[s]} {s}" for s in STATUSES) + f"; {found['waiting']} notifications not yet fanned out")


@notify.command("retry")
@click.option("--failed", "failed_only", is_flag=True, required=True, help="Queue every failed copy again (required: says what).")
@click.option("--channel", type=click.Choice(CHANNELS), default=None, help="Only the failed copies of this channel.")
def retry(failed_only: bool, channel: str | None) -> None:
    """Send the failed copies again (each audited; the same delivery key, so a keyed gateway drops a repeat)."""
    app = make_app()
    with app_db(app).session() as session:
        ids = retry_failed(session, None, channel)
    click.echo(f"notify: {len(ids)} failed {'copy' if len(ids) == 1 else 'copies'}{f' on {channel}' if channel else ''} queued again")
