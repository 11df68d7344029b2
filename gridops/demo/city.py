"""The demo city: a realistic, deterministic district to run, test and measure against.

geo.synth draws the ground (streets, blocks, buildings, grids); this module gives
it names and codes, people, an incident taxonomy and several weeks of incident
history with real hot spots, and writes it as GeoJSON and CSV files that a
planner can open in QGIS and `gridops load` can read.

One seed gives one city, byte for byte: every random draw comes from generators
seeded here, in a fixed order, and nothing reads the clock.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry import Point, mapping
from shapely.geometry.base import BaseGeometry

from gridops.geo.crs import LocalProjection, wgs84_to_gcj02
from gridops.geo.geojson import geometry_to_geojson
from gridops.geo.index import AreaIndex
from gridops.geo.synth import SynthCity, synthesize

from gridops.reference.calendar import WORKDAY_MINUTES, WorkCalendar

TIMEZONE = "Asia/Shanghai"
_TZ = ZoneInfo(TIMEZONE)
DEFAULT_END = datetime(2026, 11, 15, 18, 0, tzinfo=_TZ)
# A fictional district placed in Chengdu's south-east; 510199 is not a real code.
CENTER = (104.0998, 30.6242)
DISTRICT_CODE = "510199"
DISTRICT_NAME = "锦华区"
LAYER = {"code": "grid", "name": "社区网格 Community grids", "description": "The grids that route incidents (综治网格)."}
# a second layer over the same ground, drawn by the police for their own beats ("三格融合")
POLICE_LAYER = {
    "code": "police", "name": "警务网格 Police grids", "file": "police.geojson",
    "description": "Police stations' beats (警格), drawn without regard to the community grids.",
}
POLICE_LEVELS = [
    {"code": "police_station", "name": "派出所辖区", "name_en": "Police station area", "depth": 10, "code_digits": 9, "optional": False, "households_min": None, "households_max": None},
    {"code": "police_grid", "name": "警格", "name_en": "Police grid", "depth": 11, "code_digits": 3, "optional": False, "households_min": None, "households_max": None},
]
FORMAT_VERSION = 1

LEVELS = [
    {"code": "district", "name": "区", "name_en": "District", "depth": 0, "code_digits": 6, "optional": False, "households_min": None, "households_max": None},
    {"code": "street", "name": "街道", "name_en": "Street (sub-district)", "depth": 1, "code_digits": 3, "optional": False, "households_min": None, "households_max": None},
    {"code": "community", "name": "社区", "name_en": "Community", "depth": 2, "code_digits": 3, "optional": False, "households_min": None, "households_max": None},
    {"code": "cluster", "name": "小分格", "name_en": "Grid cluster", "depth": 3, "code_digits": 2, "optional": True, "households_min": None, "households_max": None},
    {"code": "grid", "name": "网格", "name_en": "Grid", "depth": 4, "code_digits": 3, "optional": False, "households_min": 300, "households_max": 500},
    {"code": "micro_grid", "name": "微网格", "name_en": "Micro-grid", "depth": 5, "code_digits": 3, "optional": False, "households_min": 50, "households_max": 80},
]

DEPARTMENTS = [
    {"code": "police", "name": "锦华派出所", "name_en": "Police station", "phone": "110"},
    {"code": "fire", "name": "锦华消防救援站", "name_en": "Fire and rescue station", "phone": "119"},
    {"code": "sanitation", "name": "区环卫所", "name_en": "Sanitation office", "phone": "028-8500-1201"},
    {"code": "water", "name": "区水务局", "name_en": "Water and drainage bureau", "phone": "028-8500-1202"},
    {"code": "urban_management", "name": "区综合行政执法局", "name_en": "Urban management (城管)", "phone": "12319"},
    {"code": "housing", "name": "区住房建设局", "name_en": "Housing and construction bureau", "phone": "028-8500-1204"},
    {"code": "property", "name": "物业服务中心", "name_en": "Property management", "phone": "028-8500-1205"},
]

_HOUR = 60
_DAY = 24 * _HOUR
# code, name, name_en, group, urgency, limit (minutes), working time?, handler, department,
# dedupe radius m, dedupe window h, keywords, reports per 1,000 households per week
CATEGORIES = [
    ("dispute.neighbour", "邻里纠纷", "Neighbour dispute", "dispute", "normal", 3 * _DAY, False, "grid", None, 100, 72, "纠纷 吵架 邻居", 1.0),
    ("dispute.property", "物业纠纷", "Property-management dispute", "dispute", "normal", 5 * WORKDAY_MINUTES, True, "grid", None, 100, 72, "物业 收费 纠纷", 0.5),
    ("hazard.ebike_charging", "电动车违规充电", "Illegal e-bike charging", "hazard", "urgent", 24 * _HOUR, False, "grid", None, 50, 72, "飞线 充电 电动车", 0.6),
    ("hazard.fire_lane", "消防通道堵塞", "Blocked fire lane", "hazard", "urgent", 24 * _HOUR, False, "department", "fire", 100, 48, "消防通道 堵塞 占用", 0.4),
    ("hazard.blocked_drain", "排水不畅/井盖缺失", "Blocked drain or missing manhole cover", "hazard", "urgent", 48 * _HOUR, False, "department", "water", 100, 72, "下水道 积水 井盖", 0.3),
    ("hazard.building_safety", "房屋安全隐患", "Unsafe structure", "hazard", "urgent", 24 * _HOUR, False, "department", "housing", 50, 168, "裂缝 危房 脱落", 0.1),
    ("order.noise", "噪声扰民", "Noise nuisance", "order", "normal", 3 * _DAY, False, "grid", None, 100, 72, "噪音 扰民 广场舞", 0.6),
    ("order.illegal_construction", "违章搭建", "Illegal construction", "order", "normal", 15 * WORKDAY_MINUTES, True, "department", "urban_management", 50, 336, "违建 搭建 加层", 0.25),
    ("environment.garbage", "垃圾堆放", "Rubbish dumping", "environment", "normal", 48 * _HOUR, False, "department", "sanitation", 100, 48, "垃圾 堆放 清运", 0.8),
    ("livelihood.repair", "公共设施报修", "Public facility repair", "livelihood", "normal", 5 * WORKDAY_MINUTES, True, "department", "property", 50, 168, "路灯 电梯 报修", 0.6),
    ("care.elderly", "老人关爱/就医求助", "Help for the elderly or a medical request", "care", "critical", 2 * _HOUR, False, "grid", None, None, None, "老人 独居 就医 求助", 0.3),
    ("security.suspicious", "可疑情况", "Suspicious activity", "security", "urgent", 12 * _HOUR, False, "department", "police", 200, 24, "可疑 陌生人 盗窃", 0.15),
]

# The 2026 public holidays and make-up working days (调休) as announced by the State Council.
CALENDAR_2026 = (
    [(date(2026, 1, d), "holiday", "元旦") for d in (1, 2, 3)]
    + [(date(2026, 1, 4), "workday", "元旦调休")]
    + [(date(2026, 2, d), "holiday", "春节") for d in range(15, 24)]
    + [(date(2026, 2, 14), "workday", "春节调休"), (date(2026, 2, 28), "workday", "春节调休")]
    + [(date(2026, 4, d), "holiday", "清明节") for d in (4, 5, 6)]
    + [(date(2026, 5, d), "holiday", "劳动节") for d in range(1, 6)]
    + [(date(2026, 5, 9), "workday", "劳动节调休")]
    + [(date(2026, 6, d), "holiday", "端午节") for d in (19, 20, 21)]
    + [(date(2026, 9, d), "holiday", "中秋节") for d in (25, 26, 27)]
    + [(date(2026, 10, d), "holiday", "国庆节") for d in range(1, 8)]
    + [(date(2026, 9, 20), "workday", "国庆节调休"), (date(2026, 10, 10), "workday", "国庆节调休")]
)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红玲芬燕彬斌宇浩凯健俊帆旭宁龙林欣悦梓涵轩诺桐然怡琳晨博文"
_STREET_NAMES = ["青石街道", "玉泉街道"]
_COMMUNITY_NAMES = ["桂花社区", "芙蓉社区", "银杏社区", "翠柳社区", "文庙社区", "新桥社区", "望江社区", "紫荆社区"]
_EW_ROADS = ["锦华大道", "文星路", "玉泉路", "青石大道", "桂溪路", "望江路", "芙蓉大道", "书院路", "临江路", "府河路"]
_NS_ROADS = ["东城大街", "书院街", "红星街", "人民大街", "建设街", "和平街", "解放大街", "光华街", "新华街", "西城大街", "双桥街", "金沙街", "锦官街"]
_COMPOUND_HEADS = ["金桂", "翠竹", "锦绣", "和平", "幸福", "阳光", "碧水", "青松", "紫荆", "丽景", "华府", "滨江", "书香", "康乐", "长青", "春晖", "瑞祥", "枫林", "兰亭", "雅居"]
_COMPOUND_TAILS = ["苑", "园", "小区", "花园", "家园", "里", "公寓"]
_LANE_HEADS = ["青石", "柳荫", "槐树", "井巷", "瓦窑", "打铜", "染坊", "鼓楼", "棉花", "豆腐"]
_PUBLIC_NAMES = {"school": "小学", "market": "农贸市场", "clinic": "社区卫生服务站", "office": "商务楼", "pavilion": "街心公园"}

# what a report says, by category (one is drawn at random)
_DESCRIPTIONS = {
    "dispute.neighbour": ["楼上漏水到楼下，双方协商不成发生争吵", "邻居在楼道堆放杂物引发矛盾", "因停车位问题邻里发生口角"],
    "dispute.property": ["物业费收费标准有争议，业主要求公示", "小区门禁损坏物业长期未修，业主不满"],
    "hazard.ebike_charging": ["有人从楼上拉电线给电动车充电（飞线充电）", "电动车推进楼道内充电，存在火灾隐患", "单元门口私接插座给电动车充电"],
    "hazard.fire_lane": ["消防通道被私家车长期占用", "消防通道堆放建筑垃圾"],
    "hazard.blocked_drain": ["路口积水严重，下水道堵塞", "井盖缺失，行人有跌落危险", "雨后排水不畅，积水漫进底楼"],
    "hazard.building_safety": ["外墙瓷砖脱落，楼下有行人经过", "楼梯间墙体出现裂缝"],
    "order.noise": ["晚上广场舞音响声音过大", "装修施工时间过早，噪音扰民", "商铺门口大音量播放广告"],
    "order.illegal_construction": ["顶楼住户私自搭建彩钢棚", "底楼住户擅自扩建院落围墙", "屋顶加建一层"],
    "environment.garbage": ["垃圾桶满溢多日未清运", "空地上有人倾倒建筑垃圾", "绿化带内堆放生活垃圾"],
    "livelihood.repair": ["路灯不亮，夜间通行不便", "电梯故障停运", "小区健身器材损坏"],
    "care.elderly": ["独居老人身体不适，需要陪同就医", "高龄老人多日未出门，邻居担心", "老人需要帮忙购买药品"],
    "security.suspicious": ["有陌生人在小区内挨家敲门推销", "夜间有人在车库内查看车辆", "发现可疑人员尾随进入单元门"],
}
# properties of incidents.geojson, in order (the same for every feature, so QGIS sees every field)
INCIDENT_FIELDS = [
    "ref", "category", "status", "channel", "description", "reported_at", "due_at", "closed_at", "lon", "lat",
    "original_x", "original_y", "original_crs", "address_text", "building_code", "household_code",
    "reporter_name", "reporter_contact", "reporter_worker", "assignee", "department_code", "tier",
    "routing_reason", "merged_into", "rating",
]
_CHANNELS = ["app", "qr", "photo", "hotline", "patrol"]
_CHANNEL_MIX = {
    "care.elderly": [0.15, 0.35, 0.0, 0.45, 0.05],
    "security.suspicious": [0.35, 0.05, 0.1, 0.45, 0.05],
    "hazard.blocked_drain": [0.25, 0.0, 0.25, 0.15, 0.35],
    "environment.garbage": [0.3, 0.05, 0.3, 0.1, 0.25],
}
_DEFAULT_CHANNEL_MIX = [0.35, 0.15, 0.1, 0.2, 0.2]
# share of reports by hour of day (local): quiet at night, busy mornings and evenings
_HOURLY = np.array([1, 0.5, 0.3, 0.3, 0.4, 0.8, 2, 4, 6, 7, 7, 6, 5, 5, 6, 6, 6, 6, 6, 7, 7, 5, 3, 2], dtype=float)


@dataclass
class DemoCity:
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
    events: list[dict[str, Any]] = field(default_factory=list)
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
        }


def _name(rng: np.random.Generator) -> str:
    return str(rng.choice(list(_SURNAMES))) + "".join(rng.choice(list(_GIVEN), size=int(rng.integers(1, 3))))


def _phone(rng: np.random.Generator) -> str:
    return f"1{int(rng.choice([3, 5, 7, 8, 9]))}{int(rng.integers(0, 10))}{int(rng.integers(10_000_000, 100_000_000))}"


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def generate_city(seed: int = 7, end: datetime = DEFAULT_END, weeks: int = 8) -> DemoCity:
    """The whole city for a seed, with incident history up to the moment `end`."""
    if end.tzinfo is None:
        end = end.replace(tzinfo=_TZ)
    synth = synthesize(seed)
    rng = np.random.default_rng(seed + 1_000_003)  # content draws never disturb the geometry
    proj = LocalProjection(*CENTER)
    start = datetime.combine((end - timedelta(weeks=weeks)).date() + timedelta(days=1), time(0, 0), _TZ)
    effective = datetime.combine(start.date() - timedelta(days=90), time(0, 0), _TZ)
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
            "effective_from": _iso(effective),
            "incidents_from": _iso(start),
            "snapshot_at": _iso(end),
            "departments": DEPARTMENTS,
            "categories": [_category_row(c) for c in CATEGORIES],
            "calendar": [{"day": d.isoformat(), "kind": k, "name": n} for d, k, n in sorted(CALENDAR_2026)],
        }
    )
    plan = _areas_and_buildings(city, synth, proj, rng)
    _police(city, synth, proj, np.random.default_rng(seed + 2_000_003))
    _roads(city, synth, proj)
    _people(city, plan, rng, effective)
    calendar = WorkCalendar.from_days(TIMEZONE, [(d, k) for d, k, _ in CALENDAR_2026])
    _incidents(city, synth, plan, proj, rng, start, end, calendar)
    _patrols(city, plan, rng, end)
    _patrol_register(city, np.random.default_rng(seed + 3_000_003), effective)
    return city


def _category_row(c: tuple) -> dict[str, Any]:
    code, name, name_en, group, urgency, limit, working, handler, dept, radius, window, keywords, rate = c
    return {
        "code": code, "name": name, "name_en": name_en, "group_code": group, "urgency": urgency,
        "time_limit_minutes": limit, "working_time": working, "handler": handler, "department_code": dept,
        "dedupe_radius_m": radius, "dedupe_window_hours": window, "keywords": keywords,
        "description": f"{name} ({name_en})", "weekly_rate_per_1000_households": rate,
    }


@dataclass
class _Plan:
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


def _areas_and_buildings(city: DemoCity, synth: SynthCity, proj: LocalProjection, rng: np.random.Generator) -> _Plan:
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
            name = f"{comp}{_PUBLIC_NAMES[s.use]}" if k == 1 else f"{comp}{_PUBLIC_NAMES[s.use]}{k}号楼"
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

    def add_area(code, name, level, parent, members, polygon):
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
        add_area(street_code, _STREET_NAMES[s_idx], "street", DISTRICT_CODE, street_members,
                 shapely.coverage_union_all([synth.communities[k].polygon for k in members]))
        for c_idx, k in enumerate(members, start=1):
            cm = synth.communities[k]
            c_code = f"{street_code}{c_idx:03d}"
            c_name = _COMMUNITY_NAMES[community_seq % len(_COMMUNITY_NAMES)]
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
    return _Plan(
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
    heads = list(rng.permutation(_COMPOUND_HEADS))
    lane_heads = list(rng.permutation(_LANE_HEADS))
    out = {}
    used_numbers: dict[str, int] = {}
    for k, blk in enumerate(sorted(synth.blocks)):
        use = synth.block_use[blk]
        road = _EW_ROADS[blk[1] % len(_EW_ROADS)]  # addresses face the road on the block's south side
        used_numbers[road] = used_numbers.get(road, 0) + int(rng.integers(2, 9)) * 2
        number = used_numbers[road]
        if use == "lanes":
            name = lane_heads[k % len(lane_heads)] + "巷"
            if k >= len(lane_heads):
                name = lane_heads[k % len(lane_heads)] + f"{k // len(lane_heads) + 1}巷"
            out[blk] = (name, road, number, True)
        else:
            head = heads[k % len(heads)]
            tail = _COMPOUND_TAILS[(k // len(heads) + k) % len(_COMPOUND_TAILS)]
            out[blk] = (head + tail, road, number, False)
    return out


def _roads(city: DemoCity, synth: SynthCity, proj: LocalProjection) -> None:
    for line, axis, idx, kind in synth.roads:
        names = _EW_ROADS if axis == "x" else _NS_ROADS
        city.roads.append({"name": names[idx % len(names)], "kind": kind, "geometry": proj.to_wgs84(line)})


def _people(city: DemoCity, plan: _Plan, rng: np.random.Generator, valid_from: datetime) -> None:
    seq = 0

    def worker(role: str, point: tuple[float, float] | None, department: str | None = None) -> str:
        nonlocal seq
        seq += 1
        code = f"W{seq:04d}"
        city.workers.append({
            "code": code, "name": _name(rng), "phone": _phone(rng), "role": role,
            "department_code": department, "lon": point[0] if point else None, "lat": point[1] if point else None,
        })
        return code

    def assign(code: str, area: str, duty: str) -> None:
        city.assignments.append({"worker_code": code, "layer": LAYER["code"], "area_code": area, "duty": duty,
                                 "valid_from": _iso(valid_from)})

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
        staff = []
        for _ in range(2):
            code = worker("department_staff", None, dept["code"])
            shifts(code, range(7), "08:00", "20:00")
            staff.append(code)
        plan.department_staff[dept["code"]] = staff


def _incidents(
    city: DemoCity, synth: SynthCity, plan: _Plan, proj: LocalProjection, rng: np.random.Generator,
    start: datetime, end: datetime, calendar: WorkCalendar,
) -> None:
    households = np.array([s.households for s in synth.buildings], dtype=float)
    total_hh = households.sum()
    days = (end.date() - start.date()).days + 1
    weeks = days / 7.0
    metric_entrances = np.array([(s.entrance.x, s.entrance.y) for s in synth.buildings])
    reports: list[tuple[str, int, datetime, tuple[float, float] | None]] = []  # category, building, time, exact point

    def at_time(day_offset: np.ndarray) -> list[datetime]:
        hours = rng.choice(24, size=len(day_offset), p=_HOURLY / _HOURLY.sum())
        minutes = rng.integers(0, 60, size=len(day_offset))
        return [
            datetime.combine(start.date() + timedelta(days=int(d)), time(int(h), int(m)), _TZ)
            for d, h, m in zip(day_offset, hours, minutes, strict=True)
        ]

    # background: reports in proportion to households, spread over the period
    for cat in CATEGORIES:
        code, rate = cat[0], cat[-1]
        count = int(rng.poisson(rate * weeks * total_hh / 1000.0))
        bs = rng.choice(len(households), size=count, p=households / total_hh)
        for b, t in zip(bs, at_time(rng.integers(0, days, size=count)), strict=True):
            reports.append((code, int(b), t, None))

    # hot spots: where hidden risks gather
    def near(center: tuple[float, float], sigma: float, count: int, weight_households: bool = True) -> np.ndarray:
        d2 = ((metric_entrances - np.asarray(center)) ** 2).sum(axis=1)
        w = np.exp(-d2 / (2 * sigma * sigma)) * (households + (0 if weight_households else 1) + 1e-9)
        return rng.choice(len(w), size=count, p=w / w.sum())

    lanes_blocks = [b for b, u in synth.block_use.items() if u == "lanes"] or list(synth.blocks)
    lanes_hh = {blk: sum(s.households for s in synth.buildings if s.block == blk) for blk in lanes_blocks}
    old_town = synth.blocks[max(lanes_hh, key=lanes_hh.get)].centroid
    # e-bike charging in the old lanes, growing week by week (an intensifying hot spot)
    n = 70
    bs = near((old_town.x, old_town.y), 90.0, n)
    growth = rng.power(2.0, size=n)  # skewed towards the end of the period
    for b, t in zip(bs, at_time(np.minimum(days - 1, (growth * days).astype(int))), strict=True):
        reports.append(("hazard.ebike_charging", int(b), t, None))
    # noise and disputes around the busiest market (persistent)
    markets = [s for s in synth.buildings if s.use == "market"] or [s for s in synth.buildings if s.use != "residential"]
    market = markets[0].entrance if markets else old_town
    for code, count in (("order.noise", 55), ("dispute.neighbour", 25)):
        bs = near((market.x, market.y), 110.0, count)
        for b, t in zip(bs, at_time(rng.integers(0, days, size=count)), strict=True):
            reports.append((code, int(b), t, None))
    # a rainstorm: blocked drains in the low corner during two weeks mid-period (a sporadic burst)
    storm_day = max(0, days // 2 - 3)
    for road_point, t in _storm_points(synth, rng, 45, storm_day, days, at_time):
        d2 = ((metric_entrances - np.asarray(road_point)) ** 2).sum(axis=1)
        reports.append(("hazard.blocked_drain", int(d2.argmin()), t, road_point))

    reports.sort(key=lambda r: (r[2], r[0], r[1]))
    cats = {c[0]: _category_row(c) for c in CATEGORIES}
    open_by_cat: dict[str, list[dict[str, Any]]] = {}
    for seq, (code, b, reported, exact) in enumerate(reports, start=1):
        if reported > end:
            continue  # not yet reported at the snapshot moment
        cat = cats[code]
        if exact is not None:
            # on the street itself; some right on the centre line (a grid boundary)
            offset = 0.0 if rng.random() < 0.15 else rng.normal(0, 3.0)
            mx, my = exact[0], exact[1] + offset
        else:
            mx, my = metric_entrances[b] + rng.normal(0, 6.0, size=2)
        lon, lat = proj.xy_to_wgs84(np.array([mx]), np.array([my]))
        point = (round(float(lon[0]), 7), round(float(lat[0]), 7))
        placed = plan.grid_index.locate(np.array([point[0]]), np.array([point[1]]))
        if placed.index[0] < 0:
            continue  # a storm report on the outer road beyond the snap distance
        grid = plan.grid_index.codes[int(placed.index[0])]
        incident = _report(city, cat, f"INC-{seq:06d}", reported, point, b, plan, rng, grid)
        duplicate_of = _duplicate_of(open_by_cat.get(code, []), incident, proj, cat)
        if duplicate_of is not None:
            _merge(city, incident, duplicate_of, reported, plan, rng, end)
        else:
            _lifecycle(city, incident, cat, reported, calendar, plan, rng, end, grid)
            open_by_cat.setdefault(code, []).append(incident)
        city.incidents.append(incident)


def _storm_points(synth: SynthCity, rng: np.random.Generator, count: int, first_day: int, days: int, at_time):
    cx, cy = synth.low_corner
    segments = [line for line, _, _, _ in synth.roads]
    mids = np.array([(line.centroid.x, line.centroid.y) for line in segments])
    d2 = ((mids - np.array([cx, cy])) ** 2).sum(axis=1)
    w = np.exp(-d2 / (2 * 200.0**2))
    picks = rng.choice(len(segments), size=count, p=w / w.sum())
    day_offsets = np.minimum(days - 1, first_day + rng.integers(0, 14, size=count))
    times = at_time(day_offsets)
    for k, t in zip(picks, times, strict=True):
        p = segments[k].interpolate(float(rng.uniform(0.1, 0.9)), normalized=True)
        yield (p.x, p.y), t


def _report(city, cat, ref, reported, point, b, plan: _Plan, rng, grid) -> dict[str, Any]:
    mix = _CHANNEL_MIX.get(cat["code"], _DEFAULT_CHANNEL_MIX)
    channel = str(rng.choice(_CHANNELS, p=np.asarray(mix) / sum(mix)))
    building = city.buildings[b]
    household = None
    rows = plan.households_by_building.get(b) or []
    incident = {
        "ref": ref, "category": cat["code"], "channel": channel,
        "description": str(rng.choice(_DESCRIPTIONS[cat["code"]])),
        "reported_at": _iso(reported), "lon": point[0], "lat": point[1],
        "original_x": point[0], "original_y": point[1], "original_crs": "wgs84",
        "address_text": None, "building_code": None, "household_code": None,
        "reporter_name": f"{rng.choice(list(_SURNAMES))}{rng.choice(['先生', '女士'])}",
        "reporter_contact": _phone(rng), "grid_code": grid,
    }
    if channel in ("app", "photo"):  # phones on WeChat/AMap report GCJ-02
        gx, gy = wgs84_to_gcj02(point[0], point[1])
        incident.update(original_x=round(float(gx), 7), original_y=round(float(gy), 7), original_crs="gcj02")
    elif channel == "qr" and rows:
        household = rows[int(rng.integers(len(rows)))]
        incident.update(household_code=household["code"], building_code=building["code"])
    elif channel == "hotline":
        incident.update(address_text=building["address"], building_code=building["code"], reporter_name=None)
    elif channel == "patrol":
        incident.update(reporter_name=None, reporter_contact=None, reporter_worker=plan.grid_worker[grid])
    return incident


def _duplicate_of(candidates: list[dict[str, Any]], incident: dict[str, Any], proj: LocalProjection, cat) -> dict | None:
    radius, window = cat["dedupe_radius_m"], cat["dedupe_window_hours"]
    if not radius or not window:
        return None
    t = datetime.fromisoformat(incident["reported_at"].replace("Z", "+00:00"))
    x, y = proj.xy_to_metric(np.array([incident["lon"]]), np.array([incident["lat"]]))
    for other in reversed(candidates[-40:]):
        t0 = datetime.fromisoformat(other["reported_at"].replace("Z", "+00:00"))
        if t - t0 > timedelta(hours=min(window, 24)):
            continue
        closed = other.get("closed_at")
        if closed and datetime.fromisoformat(closed.replace("Z", "+00:00")) < t:
            continue
        ox, oy = proj.xy_to_metric(np.array([other["lon"]]), np.array([other["lat"]]))
        if math.hypot(float(x[0] - ox[0]), float(y[0] - oy[0])) <= min(radius, 30.0):
            return other
    return None


class _Events:
    """Appends one incident's events, dropping those after the snapshot moment."""

    def __init__(self, city: DemoCity, incident: dict[str, Any], snapshot: datetime) -> None:
        self.city, self.incident, self.snapshot = city, incident, snapshot
        self.status: str | None = None
        self.seq = 0
        self.last_at: datetime | None = None

    def add(self, at: datetime, action: str, to_status: str, actor: str, note: str | None = None,
            point: tuple[float, float] | None = None) -> bool:
        if at > self.snapshot:
            return False
        self.seq += 1
        self.city.events.append({
            "incident_ref": self.incident["ref"], "seq": self.seq, "at": _iso(at), "action": action,
            "from_status": self.status, "to_status": to_status, "actor": actor, "note": note,
            "lon": point[0] if point else None, "lat": point[1] if point else None,
        })
        self.status = to_status
        self.last_at = at
        self.incident["status"] = to_status
        return True


def _reporter_actor(incident: dict[str, Any]) -> str:
    if incident.get("reporter_worker"):
        return incident["reporter_worker"]
    return "hotline" if incident["channel"] == "hotline" else "resident"


def _lifecycle(city, incident, cat, reported, calendar: WorkCalendar, plan: _Plan, rng, snapshot, grid) -> None:
    """Drive one incident through the closed loop, as far as the snapshot moment."""
    ev = _Events(city, incident, snapshot)
    due = calendar.due(reported, cat["time_limit_minutes"], cat["working_time"])
    incident["due_at"] = _iso(due)
    supervisor = plan.supervisors[int(rng.integers(len(plan.supervisors)))]
    if cat["handler"] == "department":
        staff = plan.department_staff[cat["department_code"]]
        assignee = staff[int(rng.integers(len(staff)))]
        # the district's departments are the last rung of the ladder ("分格发令，部门执行")
        incident.update(department_code=cat["department_code"], tier="district",
                        routing_reason=f"category handled by department {cat['department_code']}")
        verifier = plan.grid_worker[grid]
    else:
        assignee = plan.grid_worker[grid]
        incident.update(department_code=None, tier="grid", routing_reason="grid worker on shift")
        verifier = plan.grid_leader[grid]
    incident["assignee"] = assignee
    site = (incident["lon"], incident["lat"])
    limit = due - reported

    t = reported
    ev.add(t, "report", "reported", _reporter_actor(incident), incident["description"], site)
    t += timedelta(minutes=float(rng.uniform(2, 25)))
    if not ev.add(t, "accept", "accepted", supervisor):
        return
    t += timedelta(minutes=float(rng.uniform(5, 40)))
    if not ev.add(t, "assess", "assessed", supervisor, f"研判：{cat['name']}，{cat['urgency']}"):
        return
    t += timedelta(minutes=float(rng.uniform(3, 20)))
    if not ev.add(t, "dispatch", "dispatched", supervisor, f"派遣至 {assignee}"):
        return
    t += min(limit * 0.2, timedelta(minutes=float(rng.lognormal(math.log(40), 0.6))))
    if not ev.add(t, "start", "in_progress", assignee, "到场处置", site):
        return
    if cat["handler"] == "grid" and rng.random() < 0.08:
        # "小事不出网格、大事不出社区": the grid cannot solve it, the community takes it
        t += timedelta(minutes=float(rng.uniform(30, 240)))
        community = plan.grid_community[grid]
        if not ev.add(t, "escalate", "escalated", assignee, "网格内无法解决，上报社区"):
            return
        assignee = plan.community_staff[community]
        incident.update(assignee=assignee, tier="community", routing_reason="escalated to the community")
        t += timedelta(minutes=float(rng.uniform(10, 60)))
        if not ev.add(t, "dispatch", "dispatched", supervisor, f"派遣至社区 {assignee}"):
            return
        t += timedelta(minutes=float(rng.uniform(20, 120)))
        if not ev.add(t, "start", "in_progress", assignee, "社区到场处置", site):
            return
    # most close within the limit; some run over
    fraction = float(rng.lognormal(math.log(0.45), 0.55))
    t = max(t + timedelta(minutes=10), reported + limit * fraction)
    if not ev.add(t, "resolve", "resolved", assignee, "已处置完毕", site):
        return
    t += timedelta(hours=float(rng.uniform(0.5, 10)))
    if rng.random() < 0.07:
        if not ev.add(t, "return", "returned", verifier, "核查未通过，退回重办"):
            return
        t += timedelta(hours=float(rng.uniform(0.5, 4)))
        if not ev.add(t, "start", "in_progress", assignee, "重新处置", site):
            return
        t += timedelta(hours=float(rng.uniform(1, 12)))
        if not ev.add(t, "resolve", "resolved", assignee, "整改完成", site):
            return
        t += timedelta(hours=float(rng.uniform(0.5, 6)))
    if not ev.add(t, "verify", "verified", verifier, "核查通过", site):
        return
    t += timedelta(minutes=float(rng.uniform(5, 60)))
    if not ev.add(t, "close", "closed", supervisor, "结案"):
        return
    incident["closed_at"] = _iso(t)
    if rng.random() < 0.75:
        t += timedelta(hours=float(rng.uniform(6, 72)))
        rating = int(rng.choice([5, 4, 3, 2, 1], p=[0.55, 0.28, 0.09, 0.05, 0.03]))
        if ev.add(t, "follow_up", "followed_up", supervisor, f"回访评价 {rating} 星"):
            incident["rating"] = rating


def _merge(city, incident, original, reported, plan: _Plan, rng, snapshot) -> None:
    ev = _Events(city, incident, snapshot)
    supervisor = plan.supervisors[int(rng.integers(len(plan.supervisors)))]
    incident.update(due_at=original.get("due_at"), assignee=original.get("assignee"),
                    department_code=original.get("department_code"), tier=original.get("tier", "grid"),
                    merged_into=original["ref"], routing_reason="duplicate of an open report")
    ev.add(reported, "report", "reported", _reporter_actor(incident), incident["description"],
           (incident["lon"], incident["lat"]))
    ev.add(reported + timedelta(minutes=float(rng.uniform(2, 30))), "merge", "merged", supervisor,
           f"与 {original['ref']} 重复，合并")


def _patrols(city: DemoCity, plan: _Plan, rng: np.random.Generator, snapshot: datetime) -> None:
    """Weekly visits to elderly people living alone: last week's done, next week's scheduled."""
    by_code = {h["code"]: h for h in city.households}
    building_index = {code: i for i, code in enumerate(plan.building_codes)}
    today = snapshot.astimezone(_TZ).date()
    for h in by_code.values():
        if "elderly_alone" not in h["tags"].split(";"):
            continue
        b = building_index[h["building_code"]]
        grid = plan.building_grid[b]
        worker = plan.grid_worker[grid]
        lon, lat = plan.building_point[b]
        for week in (-1, 0):
            day = today + timedelta(days=int(rng.integers(1, 7)) + 7 * week)
            scheduled = datetime.combine(day, time(int(rng.integers(9, 17)), 0), _TZ)
            done = scheduled < snapshot
            city.tasks.append({
                "kind": "patrol", "title": f"走访独居老人 {h['code']}", "status": "done" if done else "open",
                "worker_code": worker, "area_code": grid, "building_code": h["building_code"],
                "household_code": h["code"], "lon": lon, "lat": lat, "scheduled_for": _iso(scheduled),
                "due_at": _iso(scheduled + timedelta(days=1)),
                "completed_at": _iso(scheduled + timedelta(minutes=float(rng.uniform(15, 50)))) if done else None,
            })


# visits per kind of person (走访对象), in days
PATROL_INTERVALS = {"elderly_alone": 7, "disabled": 14}


def _patrol_register(city: DemoCity, rng: np.random.Generator, registered: datetime) -> None:
    """Who needs visits: every household tagged elderly-alone or disabled, with the person, their phone and
    ID number (all fictional), and the last visit of the history."""
    last_visit: dict[str, str] = {}
    for t in city.tasks:
        if t["kind"] == "patrol" and t["completed_at"]:
            last_visit[t["household_code"]] = max(last_visit.get(t["household_code"], ""), t["completed_at"])
    for h in city.households:
        for kind in h["tags"].split(";"):
            if kind not in PATROL_INTERVALS:
                continue
            born = date(int(rng.integers(1930, 1956)) if kind == "elderly_alone" else int(rng.integers(1950, 2005)),
                        int(rng.integers(1, 13)), int(rng.integers(1, 29)))
            city.patrols.append({
                "household_code": h["code"], "building_code": h["building_code"], "kind": kind, "person": _name(rng),
                "phone": _phone(rng), "id_number": _id_number(DISTRICT_CODE, born, int(rng.integers(0, 1000))),
                "interval_days": PATROL_INTERVALS[kind], "registered_at": _iso(registered),
                "last_visit_at": last_visit.get(h["code"]),
            })


def _id_number(region: str, born: date, sequence: int) -> str:
    """An 18-digit resident ID (居民身份证号) with a valid GB 11643 check digit: fictional but well-formed."""
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


# --- files ----------------------------------------------------------------------

_README = """Demo city for gridops (generated; every name, person and report is fictional)

city.json            manifest: seed, time zone, layer, area levels, departments, categories, calendar
areas.geojson        district, streets, communities, grids and micro-grids (code, name, level, parent_code, households, population)
police.geojson       a second layer on the same ground: two police stations and their beats (警格)
roads.geojson        the street network, one segment between intersections
buildings.geojson    building footprints (code, address, compound 小区, use, floors, households, entrance lon/lat)
households.csv       one row per household (code on the door's QR code, building, unit, floor, room, persons, tags)
workers.geojson      grid workers, grid leaders, staff, at their last known position (where known)
assignments.csv      who answers for which area (primary, backup, leader)
shifts.csv           weekly on-duty windows, local time
incidents.geojson    reports with their final state as of the snapshot time
incident_events.csv  every step of every report (the audit trail)
tasks.csv            patrol visits to elderly people living alone
patrols.csv          who needs visits (elderly living alone, disabled): person, phone, ID number (fictional), interval

All coordinates are WGS-84 (EPSG:4326), lon/lat; times are ISO 8601 in UTC.
Open the GeoJSON files in QGIS directly.
"""


def _write_features(path: Path, name: str, rows: list[dict[str, Any]], precision: int | None) -> None:
    """A FeatureCollection; `precision` rounds coordinates (None keeps them whole, for areas that must tile)."""
    features = []
    for row in rows:
        geom = row.get("geometry")
        if geom is None and row.get("lon") is not None:
            geom = Point(row["lon"], row["lat"])
        props = {k: v for k, v in row.items() if k not in ("geometry", "lon", "lat")}
        if geom is None:
            geometry = None
        elif precision is None:
            geometry = mapping(geom)
        else:
            geometry = geometry_to_geojson(geom, precision)
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    doc = {"type": "FeatureCollection", "name": name, "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})


def write_city(city: DemoCity, out_dir: Path) -> None:
    """Write the city as files; the same city always gives the same bytes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = dict(city.manifest, counts=city.summary())
    (out_dir / "city.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out_dir / "README.txt").write_text(_README, encoding="utf-8")
    _write_features(out_dir / "areas.geojson", "areas", city.areas, None)
    _write_features(out_dir / POLICE_LAYER["file"], "police", city.police, None)
    _write_features(out_dir / "roads.geojson", "roads", city.roads, 7)
    _write_features(out_dir / "buildings.geojson", "buildings", city.buildings, 7)
    _write_csv(out_dir / "households.csv", city.households,
               ["code", "building_code", "unit", "floor", "room", "persons", "tags"])
    _write_features(out_dir / "workers.geojson", "workers", city.workers, 7)
    _write_csv(out_dir / "assignments.csv", city.assignments, ["worker_code", "layer", "area_code", "duty", "valid_from"])
    _write_csv(out_dir / "shifts.csv", city.shifts, ["worker_code", "weekday", "start", "end"])
    _write_features(out_dir / "incidents.geojson", "incidents",
                    [{k: inc.get(k) for k in INCIDENT_FIELDS} for inc in city.incidents], 7)
    _write_csv(out_dir / "incident_events.csv", city.events,
               ["incident_ref", "seq", "at", "action", "from_status", "to_status", "actor", "note", "lon", "lat"])
    _write_csv(out_dir / "tasks.csv", city.tasks,
               ["kind", "title", "status", "worker_code", "area_code", "building_code", "household_code", "lon", "lat",
                "scheduled_for", "due_at", "completed_at"])
    _write_csv(out_dir / "patrols.csv", city.patrols,
               ["household_code", "building_code", "kind", "person", "phone", "id_number", "interval_days", "registered_at",
                "last_visit_at"])
