"""What a use case needs from the running service, handed in so the API, the CLI, the
sweeper, the demo city and the tests call it the same way."""

from __future__ import annotations

from dataclasses import dataclass, field

from gridops.access.cache import Principals
from gridops.boundaries.geocoder import Geocoder
from gridops.reference.data import References


@dataclass
class Context:
    """The process's geocoder, reference data and signed-in users, and the city's settings."""

    geocoder: Geocoder
    timezone: str
    instance_path: str
    references: References = field(default_factory=References)  # the process's reference data (routing's inputs)
    principals: Principals | None = None  # the process's signed-in users, to confirm a report's author
    checkin_max_m: float = 200.0  # a check-in farther than this from the incident is refused
    reopen_days: float = 7.0  # a resident may say "not fixed" this long after the close
    photo_max_distance_m: float = 300.0  # a resolution photo taken farther than this from the incident is flagged
    photo_clock_skew_minutes: float = 10.0  # a resolution photo's time this far outside report..now is flagged
    public_url: str = ""  # where residents reach the service (GRIDOPS_PUBLIC_URL, else a request's address): their links
    written: list[str] = field(default_factory=list)  # photo files this request wrote
