"""What every HTTP gateway's answer means, said once: a timeout, a refused connection, a 429 or a 5xx is
worth another try; another 4xx is not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from gridops.messages.channels.base import Outcome, failed, retry

TIMEOUT = (3.05, 10.0)  # connect, read: a gateway that hangs costs one sending thread this long, never the loop


def post(session: requests.Session, url: str, judge: Callable[[requests.Response], Outcome], *,
         judge_errors: bool = False, **kw: Any) -> Outcome:
    """POST, and turn every way it can go into an outcome (the answer's body is judged by `judge`)."""
    return call(session, "POST", url, judge, judge_errors=judge_errors, **kw)


def call(session: requests.Session, method: str, url: str, judge: Callable[[requests.Response], Outcome], *,
         judge_errors: bool = False, **kw: Any) -> Outcome:
    """One request, every way it can go an outcome. `judge_errors`: the gateway says what went wrong in a 4xx
    body of its own (Aliyun's Code), which `judge` reads better than the status; 429 and 5xx stay retries."""
    try:
        response = session.request(method, url, timeout=TIMEOUT, **kw)
    except requests.Timeout:
        return retry("timed out")
    except requests.RequestException as exc:
        return retry(f"could not reach the gateway: {type(exc).__name__}")
    if response.status_code == 429:
        return retry(f"throttled (HTTP 429): {response.text[:200]}", retry_after_of(response), throttled=True)
    if response.status_code >= 500:
        return retry(f"HTTP {response.status_code}: {response.text[:200]}")
    if response.status_code >= 400 and not judge_errors:
        return failed(f"HTTP {response.status_code}: {response.text[:300]}")
    return judge(response)


def retry_after_of(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def json_of(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
