"""The boundary registry: every published version of every layer, with its index in memory.

Lookups read one immutable snapshot (the versions known when they started), so a
lookup running while a new version is published sees the old version or the
new one, never a mixture. A new version's index is built beside the old one and
only then put into a new snapshot, which replaces the old by one reference
assignment. Other processes (gunicorn workers) notice a publish within
GEOCODER_REFRESH_SECONDS and do the same.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.geocode import LayerIndex

from gridops.core import clock
from gridops.core.db import Database
from gridops.core.models import Area, AreaLevel, BoundaryVersion, Layer


@dataclass(frozen=True)
class VersionInfo:
    id: int
    layer: str
    number: int
    effective_from: datetime

    def as_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "number": self.number, "effective_from": self.effective_from.isoformat()}


@dataclass(frozen=True)
class LoadedVersion:
    """A version's areas as plain values and its index."""

    info: VersionInfo
    index: LayerIndex
    codes: list[str]
    names: list[str]
    levels: list[str]
    households: list[int]
    ids: list[int]  # area.id of each position, so a placement needs no query to be stored

    @cached_property
    def position(self) -> dict[str, int]:
        return {code: k for k, code in enumerate(self.codes)}

    def area_id(self, code: str | None) -> int | None:
        k = self.position.get(code) if code else None
        return self.ids[k] if k is not None else None

    def area(self, position: int) -> dict[str, Any]:
        return {"code": self.codes[position], "name": self.names[position], "level": self.levels[position]}


@dataclass(frozen=True)
class Snapshot:
    """The published versions, per layer, newest effective time last."""

    versions: dict[str, tuple[VersionInfo, ...]]
    token: tuple[int, ...]

    def in_force(self, layer: str, at: datetime) -> VersionInfo | None:
        chosen = None
        for info in self.versions.get(layer, ()):
            if info.effective_from <= at:
                chosen = info
        return chosen


class Registry:
    def __init__(self, db: Database, *, snap_distance_m: float = 50.0, cell_m: float | None = None,
                 refresh_seconds: float = 1.0, cached_versions: int = 8) -> None:
        self.db = db
        self.snap_distance_m = snap_distance_m
        self.cell_m = cell_m
        self.refresh_seconds = refresh_seconds
        self.cached_versions = cached_versions
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._loaded: OrderedDict[int, LoadedVersion] = OrderedDict()
        self._build_lock = threading.Lock()
        self._refresh_lock = threading.Lock()

    # -- snapshots ---------------------------------------------------------------

    def snapshot(self, session: Session | None = None) -> Snapshot:
        """The current snapshot, re-read from the database at most every refresh_seconds.

        While one thread re-reads, the others go on with the snapshot they have
        rather than queue behind it.
        """
        current = self._snapshot
        if current is None or time.monotonic() - self._checked_at >= self.refresh_seconds:
            if not self._refresh_lock.acquire(blocking=current is None):
                assert current is not None  # with no snapshot yet the acquire blocks, so it never fails
                return current
            try:
                current = self._refresh(session)
            finally:
                self._refresh_lock.release()
        return current

    @contextmanager
    def _session(self, session: Session | None) -> Iterator[Session]:
        """The caller's session when it has one: a request that already holds a connection must
        not wait for a second from the pool (under load, every thread would wait for the others)."""
        if session is not None:
            yield session
        else:
            with self.db.session() as own:
                yield own

    def refresh(self, session: Session | None = None) -> Snapshot:
        """Re-read the published versions; build the index of any new version in force now
        before the new snapshot replaces the old one."""
        with self._refresh_lock:
            return self._refresh(session)

    def _refresh(self, session: Session | None) -> Snapshot:
        with self._session(session) as used:
            rows = used.execute(
                select(BoundaryVersion.id, Layer.code, BoundaryVersion.number, BoundaryVersion.effective_from)
                .join(Layer, Layer.id == BoundaryVersion.layer_id)
                .where(BoundaryVersion.status == "published")
                .order_by(Layer.code, BoundaryVersion.effective_from, BoundaryVersion.number)
            ).all()
            versions: dict[str, list[VersionInfo]] = {}
            for vid, layer, number, effective in rows:
                versions.setdefault(layer, []).append(VersionInfo(vid, layer, number, effective))
            token = tuple(r[0] for r in rows)
            previous = self._snapshot
            if previous is not None and previous.token == token:
                self._checked_at = time.monotonic()
                return previous
            fresh = Snapshot({k: tuple(v) for k, v in versions.items()}, token)
            now = clock.now()
            for layer in fresh.versions:
                info = fresh.in_force(layer, now)
                if info is not None:
                    self.version(info, used)  # built before anyone can see the new snapshot
        self._snapshot = fresh
        self._checked_at = time.monotonic()
        return fresh

    # -- versions ----------------------------------------------------------------

    def version(self, info: VersionInfo, session: Session | None = None) -> LoadedVersion:
        loaded = self._loaded.get(info.id)
        if loaded is not None:
            try:
                self._loaded.move_to_end(info.id)  # least recently used goes first
            except KeyError:
                pass  # evicted meanwhile by another thread; we still hold it
            return loaded
        with self._build_lock:
            loaded = self._loaded.get(info.id)
            if loaded is None:
                with self._session(session) as used:
                    loaded = self._build(used, info)
                self._loaded[info.id] = loaded
                while len(self._loaded) > self.cached_versions:
                    self._loaded.popitem(last=False)
            return loaded

    def _build(self, session: Session, info: VersionInfo) -> LoadedVersion:
        level_order = list(session.scalars(select(AreaLevel.code).order_by(AreaLevel.depth)))
        rows = session.execute(
            select(Area.id, Area.code, Area.name, Area.level, Area.parent_id, Area.households, Area.geom.ST_AsBinary())
            .where(Area.version_id == info.id)
            .order_by(Area.code)
        ).all()
        position = {row[0]: k for k, row in enumerate(rows)}
        polygons = shapely.from_wkb([bytes(row[6]) for row in rows])
        index = LayerIndex(
            codes=[r[1] for r in rows],
            levels=[r[3] for r in rows],
            parents=[position.get(r[4], -1) if r[4] is not None else -1 for r in rows],
            polygons=list(polygons),
            level_order=level_order,
            snap_distance_m=self.snap_distance_m,
            cell_m=self.cell_m,
        )
        return LoadedVersion(
            info, index, [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows], [r[5] for r in rows],
            [r[0] for r in rows],
        )

    def in_force(self, at: datetime | None = None, session: Session | None = None) -> dict[str, LoadedVersion]:
        """Every layer's version in force at `at` (default now), loaded."""
        snap = self.snapshot(session)
        at = at or clock.now()
        out = {}
        for layer in snap.versions:
            info = snap.in_force(layer, at)
            if info is not None:
                out[layer] = self.version(info)
        return out
