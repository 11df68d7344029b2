"""The demo city: a realistic, deterministic district to run, test and measure against.

geo.synth draws the ground (streets, blocks, buildings, grids); this module gives
it names and codes and people — the areas, buildings and households, the police
beats, the roads, the workers with their assignments and shifts — and puts the
city together: catalogue.py holds its fixed tables, history.py its reports and
their scripts, files.py writes it as GeoJSON and CSV files that a planner can
open in QGIS and `gridops load` can read.

The city does not invent what became of its reports. Beside each report it
writes a script: the steps a street office would take and when (the command
centre accepts, assesses and dispatches; whoever holds it checks in and
resolves, or escalates; the grid leader verifies or returns it; the centre
closes it and calls back for a rating). The actors are kinds — "centre",
"assignee", "leader" — not people: `gridops load` drives the real loop with the
clock moved (intake places, merges duplicates and routes each report; each step
goes through `gridops.incidents.steps.act`), so who holds an incident, what is
merged and every event are what the product itself does.

One seed gives one city, byte for byte: every random draw comes from generators
seeded here, in a fixed order, and nothing reads the clock.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridops.geo.crs import LocalProjection
from gridops.geo.index import AreaIndex
from gridops.geo.synth import SynthCity, synthesize

from gridops.demo.catalogue import (
    ACTORS,
    CALENDAR_2026,
    CATEGORIES,
    CATEGORY_GROUPS,
    CENTER,
    COMMUNITY_NAMES,
    COMPOUND_HEADS,
    COMPOUND_TAILS,
    DEFAULT_END,
    DEPARTMENTS,
    DISTRICT_CODE,
    DISTRICT_NAME,
    EW_ROADS,
    FORMAT_VERSION,
    LANE_HEADS,
    LAYER,
    LEVELS,
    NS_ROADS,
    POLICE_LAYER,
    POLICE_LEVELS,
    PUBLIC_NAMES,
    STREET_NAMES,
    TIMEZONE,
    TZ,
    category_row,
)
from gridops.demo.files import INCIDENT_FIELDS, write_city
from gridops.demo.history import add_incidents, add_patrol_register, add_patrol_visits
from gridops.demo.model import DemoCity, Plan, iso, person_name, phone
from gridops.reference.calendar import WorkCalendar

# what the CLI, the tests and the benchmarks import from here (some of it made elsewhere in the package)
__all__ = ["ACTORS", "DEFAULT_END", "FORMAT_VERSION", "INCIDENT_FIELDS", "DemoCity", "generate_city", "write_city"]


def generate_city(seed: int = 7, end: datetime = DEFAULT_END, weeks: int = 8) -> DemoCity:
    """The whole city for a seed, with incident history up to the moment `end`."""
    if end.tzinfo is None:
        end = end.replace(tzinfo=TZ)
    synth = synthesize(seed)
    rng = np.random.default_rng(seed + 1_000_003)  # content draws never disturb the geometry
    proj = LocalProjection(*CENTER)
    start = datetime.combine((end - timedelta(weeks=weeks)).date() + timedelta(days=1), time(0, 0), TZ)
    effective = datetime.combine(start.date() - timedelta(days=90), time(0, 0), TZ)
    city = DemoCity(
        manifest={
            "format": FORMAT_VERSION,
            "name": f"{DISTRICT_NAME} (demo city, seed {seed})",
            "seed": seed,
            "crs": "EPSG:4326",
            "timezone": TIMEZONE,
            "district_code": DISTRICT_CODE,
            "layer": LAYER,
            "levels": LEVELS + POLICE_LEVELS,
            "layers": [POLICE_LAYER],
            "effective_from": iso(effective),
            "incidents_from": iso(start),
            "snapshot_at": iso(end),
            "departments": DEPARTMENTS,
            "category_groups": CATEGORY_GROUPS,
            "categories": [category_row(c) for c in CATEGORIES],
            "calendar": [{"day": d.isoformat(), "kind": k, "name": n} for d, k, n in sorted(CALENDAR_2026)],
        }
    )
    plan = _areas_and_buildings(city, synth, proj, rng)
    _police(city, synth, proj, np.random.default_rng(seed + 2_000_003))
    _roads(city, synth, proj)
    _people(city, plan, rng, effective)
    calendar = WorkCalendar.from_days(TIMEZONE, [(d, k) for d, k, _ in CALENDAR_2026])
    # the scripts draw from their own generator: a change to how offices work never moves a report
    add_incidents(city, synth, plan, proj, rng, start, end, calendar, np.random.default_rng(seed + 4_000_003))
    add_patrol_visits(city, plan, rng, end)
    add_patrol_register(city, np.random.default_rng(seed + 3_000_003), effective)
    return city


def _areas_and_buildings(city: DemoCity, synth: SynthCity, proj: LocalProjection, rng: np.random.Generator) -> Plan:
    """Names, codes and addresses for synth's ground: the area tree (district to micro-grid) and the buildings
    with their households; returns the links the people and the reports are placed by."""
    to_wgs = proj.to_wgs84
    n = len(synth.buildings)
    persons = np.zeros(n, dtype=np.int64)
    # streets: the west column of communities with the lower middle one, and the rest
    streets: dict[str, list[int]] = {"001": [], "002": []}
    for k, cm in enumerate(synth.communities):
        west = cm.cx == 0 or (cm.cx == 1 and cm.cy == 0)
        streets["001" if west else "002"].append(k)

    compound = _compound_names(synth, rng)
    building_codes = [f"{DISTRICT_CODE}B{b + 1:05d}" for b in range(n)]
    building_grid = [""] * n
    households_by_building: dict[int, list[dict[str, Any]]] = {}
    numbering: dict[tuple[int, int], int] = {}
    for b, s in enumerate(synth.buildings):
        numbering[s.block] = numbering.get(s.block, 0) + 1
        k = numbering[s.block]
        comp, road, number, lanes = compound[s.block]
        if s.use != "residential":
            name = f"{comp}{PUBLIC_NAMES[s.use]}" if k == 1 else f"{comp}{PUBLIC_NAMES[s.use]}{k}号楼"
            address = f"{road}{number}号{name}"
        elif lanes:
            name = f"{comp}{k}号"
            address = f"{road}{number}号{comp}{k}号"
        else:
            name = f"{comp}{k}栋"
            address = f"{road}{number}号{comp}{k}栋"
        rows = []
        for unit in range(1, s.units + 1):
            for floor in range(1, s.floors + 1):
                for room in range(1, s.per_floor + 1):
                    p = int(rng.choice([1, 2, 3, 4, 5], p=[0.15, 0.3, 0.3, 0.18, 0.07]))
                    tags = []
                    if p == 1 and rng.random() < 0.3:
                        tags.append("elderly_alone")
                    if rng.random() < 0.01:
                        tags.append("disabled")
                    rows.append({
                        "code": f"{building_codes[b]}-{unit}-{floor:02d}{room:02d}",
                        "building_code": building_codes[b],
                        "unit": str(unit),
                        "floor": floor,
                        "room": f"{floor}{room:02d}",
                        "persons": p,
                        "tags": ";".join(tags),
                    })
                    persons[b] += p
        households_by_building[b] = rows
        city.households.extend(rows)
        entrance = to_wgs(s.entrance)
        city.buildings.append({
            "code": building_codes[b],
            "name": name,
            "address": address,
            "compound": comp,
            "use": s.use,
            "floors": s.floors,
            "households": s.households,
            "entrance_lon": round(entrance.x, 7),
            "entrance_lat": round(entrance.y, 7),
            "geometry": to_wgs(s.footprint),
        })

    def add_area(code: str, name: str, level: str, parent: str | None, members: list[int], polygon: BaseGeometry | None) -> None:
        assert polygon is not None  # synthesize draws every community's, grid's and micro-grid's polygon
        city.areas.append({
            "code": code, "name": name, "level": level, "parent_code": parent,
            "households": int(sum(synth.buildings[b].households for b in members)),
            "population": int(persons[members].sum()) if len(members) else 0,
            "geometry": to_wgs(polygon),
        })

    all_members = [b for cm in synth.communities for b in cm.buildings]
    add_area(DISTRICT_CODE, DISTRICT_NAME, "district", None, all_members, synth.district)
    grid_codes, grid_community, community_codes, street_of = [], {}, [], {}
    grid_polygons = {}
    community_seq = 0
    for s_idx, (s_code, members) in enumerate(streets.items()):
        street_code = DISTRICT_CODE + s_code
        street_members = [b for k in members for b in synth.communities[k].buildings]
        add_area(street_code, STREET_NAMES[s_idx], "street", DISTRICT_CODE, street_members,
                 shapely.coverage_union_all([synth.communities[k].polygon for k in members]))
        for c_idx, k in enumerate(members, start=1):
            cm = synth.communities[k]
            c_code = f"{street_code}{c_idx:03d}"
            c_name = COMMUNITY_NAMES[community_seq % len(COMMUNITY_NAMES)]
            community_seq += 1
            community_codes.append(c_code)
            street_of[c_code] = street_code
            add_area(c_code, c_name, "community", street_code, cm.buildings, cm.polygon)
            short = c_name.removesuffix("社区")
            for g_idx, grid in enumerate(cm.grids, start=1):
                g_code = f"{c_code}{g_idx:03d}"
                grid_codes.append(g_code)
                grid_community[g_code] = c_code
                add_area(g_code, f"{short}第{g_idx}网格", "grid", c_code, grid.buildings, grid.polygon)
                grid_polygons[g_code] = city.areas[-1]["geometry"]
                for m_idx, micro in enumerate(grid.micro, start=1):
                    add_area(f"{g_code}{m_idx:03d}", f"{short}{g_idx}-{m_idx}微网格", "micro_grid", g_code,
                             micro.buildings, micro.polygon)
                    for b in micro.buildings:
                        building_grid[b] = g_code
    points = [(bd["entrance_lon"], bd["entrance_lat"]) for bd in city.buildings]
    return Plan(
        building_codes, building_grid, points, grid_codes, grid_community, community_codes, street_of,
        AreaIndex(list(grid_polygons), list(grid_polygons.values())), grid_polygons, households_by_building,
    )


def _police(city: DemoCity, synth: SynthCity, proj: LocalProjection, rng: np.random.Generator) -> None:
    """Police beats: Voronoi cells of a dozen posts, two stations, nothing aligned with the grids."""
    minx, miny, maxx, maxy = synth.district.bounds
    posts = np.column_stack([rng.uniform(minx, maxx, 12), rng.uniform(miny, maxy, 12)])
    cells = shapely.voronoi_polygons(shapely.MultiPoint(posts), extend_to=synth.district, ordered=True)
    beats = [shapely.intersection(c, synth.district) for c in cells.geoms]
    # two stations, split along a slanting line
    score = posts[:, 0] + 0.6 * posts[:, 1]
    station_of = (score > np.median(score)).astype(int)
    entrances = shapely.points([(s.entrance.x, s.entrance.y) for s in synth.buildings])
    households = np.array([s.households for s in synth.buildings])
    beat_tree = shapely.STRtree(beats)
    pts, owner = beat_tree.query(entrances, predicate="within")
    per_beat = np.bincount(owner, weights=households[pts], minlength=len(beats)).astype(int)
    for st in (0, 1):
        code = f"{DISTRICT_CODE}P{st + 1:02d}"
        members = [k for k in range(len(beats)) if station_of[k] == st]
        city.police.append({
            "code": code, "name": f"{DISTRICT_NAME}{'东' if st else '西'}派出所", "level": "police_station", "parent_code": None,
            "households": int(per_beat[members].sum()), "population": None,
            "geometry": proj.to_wgs84(shapely.coverage_union_all([beats[k] for k in members])),
        })
        order = sorted(members, key=lambda k: (round(-posts[k, 1], -2), posts[k, 0]))
        for n, k in enumerate(order, start=1):
            city.police.append({
                "code": f"{code}{n:03d}", "name": f"{'东' if st else '西'}所第{n}警格", "level": "police_grid",
                "parent_code": code, "households": int(per_beat[k]), "population": None,
                "geometry": proj.to_wgs84(beats[k]),
            })


def _compound_names(synth: SynthCity, rng: np.random.Generator) -> dict[tuple[int, int], tuple[str, str, int, bool]]:
    """Per block: compound name (小区 or lane), the road its addresses are on, a street number, lanes?"""
    heads = list(rng.permutation(COMPOUND_HEADS))
    lane_heads = list(rng.permutation(LANE_HEADS))
    out = {}
    used_numbers: dict[str, int] = {}
    for k, blk in enumerate(sorted(synth.blocks)):
        use = synth.block_use[blk]
        road = EW_ROADS[blk[1] % len(EW_ROADS)]  # addresses face the road on the block's south side
        used_numbers[road] = used_numbers.get(road, 0) + int(rng.integers(2, 9)) * 2
        number = used_numbers[road]
        if use == "lanes":
            name = lane_heads[k % len(lane_heads)] + "巷"
            if k >= len(lane_heads):
                name = lane_heads[k % len(lane_heads)] + f"{k // len(lane_heads) + 1}巷"
            out[blk] = (name, road, number, True)
        else:
            head = heads[k % len(heads)]
            tail = COMPOUND_TAILS[(k // len(heads) + k) % len(COMPOUND_TAILS)]
            out[blk] = (head + tail, road, number, False)
    return out


def _roads(city: DemoCity, synth: SynthCity, proj: LocalProjection) -> None:
    """The street network with its names (east-west roads and north-south streets)."""
    for line, axis, idx, kind in synth.roads:
        names = EW_ROADS if axis == "x" else NS_ROADS
        city.roads.append({"name": names[idx % len(names)], "kind": kind, "geometry": proj.to_wgs84(line)})


def _people(city: DemoCity, plan: Plan, rng: np.random.Generator, valid_from: datetime) -> None:
    """Who works the city: the command centre's supervisors round the clock, street and community staff, a
    worker per grid with a backup, a leader per four grids, two staff per department; with their shifts."""
    seq = 0

    def worker(role: str, point: tuple[float, float] | None, department: str | None = None) -> str:
        nonlocal seq
        seq += 1
        code = f"W{seq:04d}"
        city.workers.append({
            "code": code, "name": person_name(rng), "phone": phone(rng), "role": role,
            "department_code": department, "lon": point[0] if point else None, "lat": point[1] if point else None,
        })
        return code

    def assign(code: str, area: str, duty: str) -> None:
        city.assignments.append({"worker_code": code, "layer": LAYER["code"], "area_code": area, "duty": duty,
                                 "valid_from": iso(valid_from)})

    def shifts(code: str, days: range | list[int], start: str, end: str) -> None:
        for d in days:
            city.shifts.append({"worker_code": code, "weekday": d, "start": start, "end": end})

    def spot(grid_code: str) -> tuple[float, float]:
        poly = plan.grid_polygons[grid_code]
        p = poly.representative_point()
        return (round(p.x, 7), round(p.y, 7))

    for c in range(3):
        code = worker("supervisor", None)
        assign(code, DISTRICT_CODE, "primary")
        shifts(code, range(7), ["00:00", "08:00", "16:00"][c], ["08:00", "16:00", "23:59"][c])
        plan.supervisors.append(code)
    for street in sorted(set(plan.street_of_community.values())):
        code = worker("street_staff", None)
        assign(code, street, "primary")
        shifts(code, range(5), "08:30", "17:30")
    for community in plan.community_codes:
        grids = [g for g in plan.grid_codes if plan.grid_community[g] == community]
        staff = worker("community_staff", spot(grids[0]))
        assign(staff, community, "primary")
        shifts(staff, range(5), "08:30", "17:30")
        plan.community_staff[community] = staff
        workers = []
        for i, g in enumerate(grids):
            code = worker("grid_worker", spot(g))
            assign(code, g, "primary")
            shifts(code, range(5), "08:30", "17:30")
            shifts(code, [5] if i % 2 == 0 else [6], "09:00", "17:00")  # the weekend rota
            plan.grid_worker[g] = code
            workers.append(code)
        for i, g in enumerate(grids):
            assign(workers[(i + 1) % len(grids)], g, "backup")  # the next grid's worker covers
        for start in range(0, len(grids), 4):
            leader = worker("grid_leader", spot(grids[start]))
            shifts(leader, range(5), "08:30", "17:30")
            for g in grids[start:start + 4]:
                assign(leader, g, "leader")
                plan.grid_leader[g] = leader
    for dept in DEPARTMENTS:
        team = []
        for _ in range(2):
            code = worker("department_staff", None, dept["code"])
            shifts(code, range(7), "08:00", "20:00")
            team.append(code)
        plan.department_staff[dept["code"]] = team
