"""Serving: Werkzeug, or gunicorn with worker processes; one sweeper and one message dispatcher beside them."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from typing import Any

import click
from flask import Config, Flask

from gridops.cli.base import app_db, cli, context, make_app
from gridops.core.health import health
from gridops.field.sweep import Sweeper
from gridops.messages.dispatcher import Dispatcher, Running
from gridops.web.asgi import Server


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
        _gunicorn(host, port, workers, app.config)
    else:
        if interval > 0:
            _start_sweeper(app, interval)
        _start_dispatcher(app)
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


THREADS = 16  # per worker, for every request but the live feed's


def _more_files() -> None:
    """Every open stream is a socket: thousands of them need more than the usual 1,024 descriptors
    (raised to the hard limit the system allows; the workers inherit it)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
        except (ValueError, OSError):
            pass


def _start_sweeper(app: Flask, interval: float) -> Sweeper:
    sweeper = Sweeper(lambda: context(app), app_db(app), interval)
    sweeper.start()
    return sweeper


def _start_dispatcher(app: Flask) -> Running | None:
    idle = app.config["NOTIFY_INTERVAL_SECONDS"]
    if idle <= 0:
        return None
    running = Running(Dispatcher(app_db(app), app.config), idle)
    running.start()
    return running


def _gunicorn(host: str, port: int, workers: int, app_cfg: Config) -> None:
    from gunicorn.app.base import BaseApplication  # the server of `--workers`, needed by nothing else

    sweep_interval = app_cfg["SWEEP_INTERVAL_SECONDS"]
    dispatchers: list[subprocess.Popen[bytes]] = []
    _more_files()

    def when_ready(_server: Any) -> None:
        # one sweeper and one dispatcher for the whole server, in the master, however many workers there are
        master = make_app()
        if sweep_interval > 0:
            _start_sweeper(master, sweep_interval)
        if app_cfg["NOTIFY_INTERVAL_SECONDS"] > 0:
            # the dispatcher in a process of its own: a thread of the master busy in the database when gunicorn
            # forks a worker would leave that worker a lock nobody releases (SpatiaLite workers hung at start)
            dispatchers.append(subprocess.Popen([sys.executable, "-m", "gridops", "notify", "run"]))

    def on_exit(_server: Any) -> None:
        for proc in dispatchers:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    class _App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            # an asyncio loop per worker (gridops.web.asgi): an open live feed holds no thread, every
            # other request runs the Flask app on the worker's threads
            self.cfg.set("worker_class", "asgi")
            self.cfg.set("asgi_loop", "uvloop" if _has_uvloop() else "asyncio")
            self.cfg.set("worker_connections", app_cfg["STREAM_MAX_CLIENTS"] + 1000)
            # open feeds would hold a graceful stop for its whole timeout; their clients resume with Last-Event-ID
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("accesslog", "-")
            self.cfg.set("when_ready", when_ready)
            self.cfg.set("on_exit", on_exit)

        def load(self) -> Server:
            _redact("gunicorn.access")  # in each worker, where its access log is written
            return Server(make_app(), threads=THREADS)  # each worker builds its own app and engine after the fork

    _App().run()


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:  # a platform without its wheel: the standard loop serves the same, a little slower
        return False
    return True
