"""What the demo city's generator builds and hands between its stages: DemoCity (the rows every file is
written from), the Plan linking the ground to the people on it, and the conventions every stage writes in
(a fictional name, a mobile number, a UTC time). Its own module so city.py, history.py and files.py can
share them without importing one another in a circle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from gridops.geo.index import AreaIndex

from gridops.demo.catalogue import GIVEN, SURNAMES


@dataclass
class DemoCity:
    """The whole city as rows, one list per file; `manifest` is city.json without its counts."""

    manifest: dict[str, Any]
    areas: list[dict[str, Any]] = field(default_factory=list)
    police: list[dict[str, Any]] = field(default_factory=list)
    roads: list[dict[str, Any]] = field(default_factory=list)
    buildings: list[dict[str, Any]] = field(default_factory=list)
    households: list[dict[str, Any]] = field(default_factory=list)
    workers: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    shifts: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)  # the scripted steps of every report
    tasks: list[dict[str, Any]] = field(default_factory=list)
    patrols: list[dict[str, Any]] = field(default_factory=list)  # people who need visits (走访对象)

    def summary(self) -> dict[str, int]:
        levels = [a["level"] for a in self.areas]
        return {
            "communities": levels.count("community"),
            "grids": levels.count("grid"),
            "micro_grids": levels.count("micro_grid"),
            "buildings": len(self.buildings),
            "households": len(self.households),
            "workers": len(self.workers),
            "incidents": len(self.incidents),
            "steps": len(self.steps),
        }


@dataclass
class Plan:
    """Links the generator keeps between the ground and the people on it."""

    building_codes: list[str]
    building_grid: list[str]  # building index -> grid code
    building_point: list[tuple[float, float]]  # WGS-84 entrance
    grid_codes: list[str]
    grid_community: dict[str, str]
    community_codes: list[str]
    street_of_community: dict[str, str]
    grid_index: AreaIndex
    grid_polygons: dict[str, BaseGeometry]
    households_by_building: dict[int, list[dict[str, Any]]]
    grid_worker: dict[str, str] = field(default_factory=dict)
    grid_leader: dict[str, str] = field(default_factory=dict)
    community_staff: dict[str, str] = field(default_factory=dict)
    department_staff: dict[str, list[str]] = field(default_factory=dict)
    supervisors: list[str] = field(default_factory=list)


def person_name(rng: np.random.Generator) -> str:
    """A fictional full name: a surname and one or two given characters."""
    return str(rng.choice(list(SURNAMES))) + "".join(rng.choice(list(GIVEN), size=int(rng.integers(1, 3))))


def phone(rng: np.random.Generator) -> str:
    """A fictional mainland mobile number (11 digits)."""
    return f"1{int(rng.choice([3, 5, 7, 8, 9]))}{int(rng.integers(0, 10))}{int(rng.integers(10_000_000, 100_000_000))}"


def iso(t: datetime) -> str:
    """A moment as the files carry it: ISO 8601 in UTC, ending in Z."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
