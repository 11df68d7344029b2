"""What the pytest-xdist workers of one run make once and share: the demo city's files and its two loaded
databases (a load takes a minute or two of CPU; each worker used to make its own, four loads a run).

The run's folder is the parent of the workers' base temporary folders (xdist makes them popen-gw0, popen-gw1
in the controller's); without xdist it is the one base folder. Each thing is made under a file lock by the
first worker to want it, and written down as JSON; the others read it. A PostGIS database made for the run
is dropped by the last worker to leave (each holds a shared lock on the run from its first test to its end;
the one that then gets the lock alone is the last).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["RunShare"]

Make = Callable[[], dict]


class RunShare:
    def __init__(self, tmp_path_factory, drop_database: Callable[[str], None]) -> None:
        base = tmp_path_factory.getbasetemp()
        self.root: Path = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
        self._drop_database = drop_database
        self._member: IO[str] | None = open(self.root / "gridops-run.lock", "a")  # held until leave()
        fcntl.flock(self._member, fcntl.LOCK_SH)

    @contextmanager
    def _lock(self, key: str, wait: bool = True) -> Iterator[bool]:
        with open(self.root / f"gridops-{key}.lock", "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _state(self, key: str) -> Path:
        return self.root / f"gridops-{key}.json"

    def _read_or_make(self, key: str, make: Make) -> dict:
        """Under the key's lock: what was made, or make it now."""
        state = self._state(key)
        if state.exists():
            return json.loads(state.read_text(encoding="utf-8"))
        made = make()
        tmp = state.with_suffix(".tmp")
        tmp.write_text(json.dumps(made), encoding="utf-8")
        tmp.replace(state)
        return made

    def once(self, key: str, make: Make, meanwhile: Mapping[str, Make] | None = None) -> dict:
        """What `make` made for this run, made now if no worker has. If another worker is making it, make
        one of `meanwhile` (things this worker will want later) while waiting, rather than sit idle."""
        with self._lock(key, wait=False) as mine:
            if mine:
                return self._read_or_make(key, make)
        for other, make_other in (meanwhile or {}).items():
            with self._lock(other, wait=False) as mine:
                if mine:
                    self._read_or_make(other, make_other)
        with self._lock(key):
            return self._read_or_make(key, make)

    def owns_database(self, key: str, name: str) -> None:
        """A PostGIS database made for the whole run (as `key`): the last worker to leave drops it."""
        with self._lock("databases"), (self.root / "gridops-databases.txt").open("a", encoding="utf-8") as fh:
            fh.write(f"{key} {name}\n")

    def leave(self) -> None:
        """This worker is done; the last one drops the run's databases (and forgets them, so a worker
        that xdist starts again would make them anew)."""
        if self._member is None:
            return
        member, self._member = self._member, None
        try:
            fcntl.flock(member, fcntl.LOCK_UN)
            try:
                fcntl.flock(member, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another worker is still running: it drops them
                return
            with self._lock("databases"):
                listed = self.root / "gridops-databases.txt"
                for line in listed.read_text(encoding="utf-8").splitlines() if listed.exists() else []:
                    key, name = line.split()
                    self._drop_database(name)
                    self._state(key).unlink(missing_ok=True)
                listed.unlink(missing_ok=True)
        finally:
            member.close()
