"""The street network in memory, built once from the road table (rebuilt when roads are added)."""

from __future__ import annotations

import threading

import shapely
from sqlalchemy import func, select

from geo.network import StreetNetwork

from .db import Database
from .models import Road


class Streets:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._network: StreetNetwork | None = None
        self._count = -1
        self._lock = threading.Lock()

    def network(self) -> StreetNetwork | None:
        """The network, or None when no roads are loaded (routing then measures straight lines)."""
        with self.db.session() as session:
            count = session.scalar(select(func.count(Road.id))) or 0
            if count == self._count:
                return self._network
            with self._lock:
                if count != self._count:
                    rows = session.scalars(select(Road.geom.ST_AsBinary())).all()
                    self._network = StreetNetwork.from_lines(list(shapely.from_wkb([bytes(r) for r in rows]))) if rows else None
                    self._count = count
        return self._network
