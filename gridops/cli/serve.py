"""Serving: Werkzeug, or gunicorn with worker processes; one sweeper beside them."""

from __future__ import annotations

import logging
import re
from typing import Any

import click
from flask import Flask

from gridops.cli.base import app_db, cli, context, make_app
from gridops.core.health import health
from gridops.field.sweep import Sweeper


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Run gunicorn with N worker processes.")
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the app (Ctrl-C stops it)."""
    app = make_app()
    report = health(app_db(app))
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
        _redact("werkzeug")
        app.run(host=host, port=port, threaded=True, use_reloader=False)


_SECRET = re.compile(r"(api_key=)[^&\s\"]*", re.IGNORECASE)


class RedactTokens(logging.Filter):
    """Access logs keep the path and query, never a token: Open311 clients send theirs as `api_key`
    in the URL (every other route takes tokens only in the Authorization header, which is not logged)."""

    def filter(self, record: logging.LogRecord) -> bool:
        def clean(value: Any) -> Any:
            return _SECRET.sub(r"\1[redacted]", value) if isinstance(value, str) else value

        record.msg = clean(record.msg)
        if isinstance(record.args, dict):
            record.args = {k: clean(v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(clean(a) for a in record.args)
        return True


def _redact(logger_name: str) -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())


def _start_sweeper(app: Flask, interval: float) -> Sweeper:
    sweeper = Sweeper(lambda: context(app), app_db(app), interval)
    sweeper.start()
    return sweeper


def _gunicorn(host: str, port: int, workers: int, sweep_interval: float) -> None:
    from gunicorn.app.base import BaseApplication  # the server of `--workers`, needed by nothing else

    def when_ready(_server: Any) -> None:
        # one sweeper for the whole server, in the master, however many workers there are
        if sweep_interval > 0:
            _start_sweeper(make_app(), sweep_interval)

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

        def load(self) -> Flask:
            _redact("gunicorn.access")  # in each worker, where its access log is written
            return make_app()  # each worker builds its own app and engine after the fork

    _App().run()
