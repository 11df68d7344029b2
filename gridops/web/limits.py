"""Rate limits where guessing pays, or where anyone may write: signing in (a token guessed is a user taken),
Open311's token lookups, and the resident's report form a door's QR label opens (no sign-in: a script could
flood a grid's worker with reports). A phone network puts many phones behind one address, so the form's
limit is generous for people and tight for a script. Counted per client address, in Redis when GRIDOPS_REDIS_URL is set (so every worker and
machine counts together), else in each process's memory.

The counting is the `limits` library's (windows and storage back ends done right); it is asked
only on the routes below, so the thousands of requests a second that have no limit pay nothing.
"""

from __future__ import annotations

import math
import time

from flask import Flask, request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

# endpoint -> (limits, the methods they count)
LIMITS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pages.login": ("10/minute;100/day", ("POST",)),
    "open311.token": ("60/minute", ("GET",)),
    "pages.resident_report": ("10/minute;60/hour", ("POST",)),
    "pages.resident_follow": ("60/minute", ("GET",)),
    # signing in by phone (gridops.access.otp counts the codes asked per number and address in its table; these
    # bound the tries at a code and the asking, across processes when Redis is set)
    "auth.phone_code": ("30/minute;100/hour", ("POST",)),
    "auth.phone_verify": ("30/minute;300/hour", ("POST",)),
    "pages.login_phone": ("30/minute;300/hour", ("POST",)),
    "pages.resident_phone": ("30/minute;300/hour", ("POST",)),
    "pages.resident_follow_answer": ("10/minute;30/hour", ("POST",)),
}


class Limits:
    """The counters of one app; `check` refuses a request over a limit of its route with a 429."""

    def __init__(self, storage_uri: str, enabled: bool = True) -> None:
        self.enabled = enabled
        self.limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self.items: dict[str, tuple[list[RateLimitItem], tuple[str, ...]]] = {
            endpoint: (parse_many(text), methods) for endpoint, (text, methods) in LIMITS.items()}

    def check(self) -> None:
        found = self.items.get(request.endpoint or "")
        if not self.enabled or found is None or request.method not in found[1]:
            return
        who = request.remote_addr or "unknown"
        for item in found[0]:
            if not self.limiter.hit(item, "gridops", request.endpoint or "", who):
                reset = self.limiter.get_window_stats(item, "gridops", request.endpoint or "", who).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                raise TooManyRequests(f"more than {item} from this address; try again in {retry} s.",
                                      retry_after=retry)


    def take(self, spec: str, *keys: str) -> int | None:
        """Count one against `spec` for `keys` (a phone number across every process, say): the seconds to wait
        when over it, else None."""
        if not self.enabled:
            return None
        for item in parse_many(spec):
            if not self.limiter.hit(item, "gridops", *keys):
                reset = self.limiter.get_window_stats(item, "gridops", *keys).reset_time
                return max(1, math.ceil(reset - time.time()))
        return None


def install(app: Flask) -> Limits:
    limits = Limits(app.config["REDIS_URL"] or "memory://", enabled=app.config["RATE_LIMITS"])
    app.extensions["gridops.limits"] = limits
    app.before_request(limits.check)
    return limits
