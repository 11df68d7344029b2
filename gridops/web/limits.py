"""Rate limits where guessing pays: signing in (a token guessed is a user taken) and Open311's token
lookups. Counted per client address, in Redis when GRIDOPS_REDIS_URL is set (so every worker and
machine counts together), else in each process's memory."""

from __future__ import annotations

from typing import Any, cast

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# endpoint -> (limit, methods it applies to); a request over it is a 429 (the sign-in page says so on the page)
LIMITS: dict[str, tuple[str, list[str]]] = {
    "pages.login": ("10 per minute; 100 per day", ["POST"]),
    "open311.token": ("60 per minute", ["GET"]),
}


def install(app: Flask) -> Limiter:
    storage = app.config["REDIS_URL"] or "memory://"
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage, key_prefix="gridops-limits",
                      enabled=app.config["RATE_LIMITS"], headers_enabled=True)
    for endpoint, (limit, methods) in LIMITS.items():
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = cast(Any, limiter.limit(limit, methods=methods)(view))
    return limiter
