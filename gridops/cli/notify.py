"""`gridops notify`: the message dispatcher as its own process (as many as wanted on PostGIS), and what
became of the messages."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from gridops.cli.base import app_db, cli, make_app
from gridops.messages.dispatcher import Dispatcher


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
