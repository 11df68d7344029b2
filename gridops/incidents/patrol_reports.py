"""巡查上报: what a grid worker finds on patrol, reported from the phone (channel `patrol`, so the measures
count it as found by patrol), and 即办件 — a hazard the worker handled there and then, closed at once
through the loop's own steps with the report's photos as the evidence.

A 即办件 is the report and its steps in one transaction: given to the worker who found it, taken, checked in
at the report's position, resolved with its photos, then verified and closed by the system (the event
says why: handled on the spot). Nothing is skipped in the history; nothing is half done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gridops.access.policy import Principal, role_term
from gridops.core.errors import InvalidParameter
from gridops.core.models import Incident, Worker
from gridops.core.shapes import to_point
from gridops.core.words import Say
from gridops.incidents.context import Context
from gridops.incidents.intake.submission import NewReport
from gridops.incidents.photos import Photo
from gridops.incidents.steps import Act, act

ON_SPOT_NOTE = "即办件：发现人现场处置，照片为证"


def check(new: NewReport, who: Principal, on_spot: bool) -> None:
    """A patrol report is a worker's; a 即办件 is a patrol report with a photo and a position."""
    if new.channel == "patrol" and who.worker_id is None:
        raise InvalidParameter("channel", Say("channel `patrol` is for workers reporting what they find on patrol; a "
                                              "%(role)s reports through `app`.",
                                              role=role_term(who.role)))
    if not on_spot:
        return
    if new.channel != "patrol":
        raise InvalidParameter("handled_on_spot", Say("`handled_on_spot` (即办件) is for a worker's patrol report: send channel `patrol`."))
    if not new.photos:
        raise InvalidParameter("photo", Say("a 即办件 is closed on its photo: send at least one photo of what was done."))
    if new.x is None or new.y is None:
        raise InvalidParameter("lon", Say("a 即办件 needs the position where it was handled: lon and lat."))


def close_on_spot(session: Session, ctx: Context, incident_id: int, who: Principal, *, note: str | None,
                  photos: list[Photo], device_at: datetime | None) -> dict[str, Any]:
    """The loop's steps for a hazard handled where it was found; the incident's state at the end (closed)."""
    incident = session.get(Incident, incident_id)
    assert incident is not None and who.worker_id is not None  # just reported, by a worker (check)
    if incident.assignee_id != who.worker_id:
        worker = session.get(Worker, who.worker_id)
        assert worker is not None
        act(session, ctx, incident_id, "reassign", Act(worker=worker.code, note=f"{ON_SPOT_NOTE}（{worker.name}）"), None)
    point = to_point(incident.location)  # where it was reported: the worker is there
    lon, lat = point.x, point.y
    act(session, ctx, incident_id, "take", Act(device_at=device_at), who)
    act(session, ctx, incident_id, "check_in", Act(lon=lon, lat=lat, device_at=device_at), who)
    act(session, ctx, incident_id, "resolve", Act(note=note or ON_SPOT_NOTE, lon=lon, lat=lat, photos=photos, device_at=device_at), who)
    act(session, ctx, incident_id, "verify", Act(note=ON_SPOT_NOTE), None)
    return act(session, ctx, incident_id, "close", Act(note=ON_SPOT_NOTE), None)
