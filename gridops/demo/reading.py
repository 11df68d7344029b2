"""Reading a city directory as a load needs it: GeoJSON features, CSV rows (empty cells as None), UTC times,
the cells a row cannot do without, and the progress hook a load reports through. Shared by loader.py (the
ground and the people) and replay.py (the history), so neither imports the other for them."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gridops.core.errors import InvalidParameter
from gridops.core.timeparse import parse_optional_time

# how a load shows its progress: wraps a step's items (the CLI gives a progress bar; the default, nothing)
Progress = Callable[[Iterable[Any], str], AbstractContextManager[Iterable[Any]]]
# a GeoJSON feature: its properties and its geometry (None where the file has none)
Feature = tuple[dict[str, Any], BaseGeometry | None]
# a CSV row: column -> cell, an empty cell as None
Row = dict[str, str | None]


def no_progress(items: Iterable[Any], label: str) -> AbstractContextManager[Iterable[Any]]:
    """The items as they are: a load with no one watching."""
    return nullcontext(items)


def ts(value: str | None) -> datetime | None:
    """A time of the files (ISO 8601 in UTC, ending in Z), None when the cell is empty."""
    return parse_optional_time(value, None, "time")  # no zone to assume: the files carry their own


def when(value: str | None) -> datetime:
    """A time the file must give."""
    t = ts(value)
    if t is None:
        raise InvalidParameter("time", "a report or a step has no time.")
    return t


def features(path: Path) -> list[Feature]:
    """A GeoJSON FeatureCollection's features, in file order."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [
        (f["properties"], shape(f["geometry"]) if f.get("geometry") else None) for f in doc["features"]
    ]


def rows(path: Path) -> list[Row]:
    """A CSV file's rows, an empty cell read as None (the writer writes None as empty)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(fh)]


def required(row: Mapping[str, str | None], column: str, where: str) -> str:
    """A cell the row cannot do without (a code it refers by, a number it is counted by)."""
    value = row.get(column)
    if value is None:
        raise InvalidParameter(column, f"a row of {where} has no {column}.")
    return value


def optional_int(value: str | None) -> int | None:
    """A number cell that may be empty."""
    return int(value) if value else None


def optional_float(value: str | None) -> float | None:
    """A coordinate cell that may be empty."""
    return float(value) if value else None
