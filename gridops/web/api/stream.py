from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, request, stream_with_context

from gridops.core.errors import Busy, InvalidParameter
from gridops.core.types import STORED_ID_MAX
from gridops.core.words import Say
from gridops.incidents.stream import stream
from gridops.web.api.parsing import Blueprint
from gridops.web.api.schemas.common import Query, problem_response, stored_id
from gridops.web.asgi import Handoff, hand_off, hub_of
from gridops.web.request import caller, confirmer, credential, database

bp = Blueprint("stream", __name__, description="The live feed of state changes (Server-Sent Events)")


# one event of the stream, as a client's EventSource reads it (the opening is `retry` and a comment; `ended`
# closes the stream of a user signed out or revoked)
EVENT = {"type": "object", "properties": {
    "id": {"type": "string", "description": "the event id (send it back as Last-Event-ID)"},
    "event": {"type": "string", "description": "`incident`: a state change; `notification`: a message for you (read it at "
                                               "/api/v1/me/notifications); `ended`: the stream closes"},
    "data": {"type": "string", "description": "JSON: {id, action, status, seq, at} (`notification`: {id, kind, incident, "
                                              "worker_id, user_id, at}; `ended`: {reason})"},
    "retry": {"type": "integer", "description": "milliseconds to wait before reconnecting"},
}}


class StreamArgs(Query):
    after = stored_id("resume after this event id (the Last-Event-ID header does the same)")


@bp.get("/stream")
@bp.arguments(StreamArgs(), location="query", as_kwargs=True)
@bp.doc(responses={"200": {"description": "text/event-stream: `id`, `event: incident`, `data` {id, action, status, seq, at}",
                           "content": {"text/event-stream": {"schema": EVENT}}}})
@problem_response(bp, 400, "Last-Event-ID is not an event id")
@problem_response(bp, 401, "no valid token")
@problem_response(bp, 503, "the server holds as many open streams as it will (Retry-After)")
def live(**args: Any) -> Response:
    """Every state change you may see, as it happens; reconnect with Last-Event-ID to miss nothing."""
    who = caller()
    after = args.get("after")
    header = request.headers.get("Last-Event-ID")
    if header:
        try:
            after = int(header)
            if not 0 <= after <= STORED_ID_MAX:
                raise ValueError(header)
        except ValueError:
            raise InvalidParameter("Last-Event-ID", Say("Last-Event-ID must be an event id (a whole number); got %(header)r.",
                                                        header=header)) from None
    hub = hub_of(request.environ)
    if hub is not None:  # served by `gridops serve --workers N`: the worker's loop holds the stream, not this thread
        if hub.full:
            raise Busy(f"this server holds {hub.settings.max_listeners} open live feeds already; try again shortly "
                       f"(本服务器的实时推送连接已满，请稍后重试)。", retry_after=10)
        hand_off(request.environ, Handoff(who, credential(), after))
        return _event_stream(iter(()))
    cfg = current_app.config
    body = stream(database(), current_app.extensions["gridops.wakeup"], who, after, heartbeat=cfg["STREAM_HEARTBEAT_SECONDS"],
                  confirm=confirmer(), recheck=cfg["STREAM_RECHECK_SECONDS"])
    return _event_stream(stream_with_context(body))


def _event_stream(body: Iterator[str]) -> Response:
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # a proxy in front must not hold events back
    return response
