"""The demo city's fixed tables: where it is, its area levels, departments, incident categories with their
time limits, the calendar, the names it draws from, what reports say and through which channels they come.
Kept apart from the generator so the city's vocabulary is read and changed in one place without touching
a single random draw: the generator and the scripts only look things up here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from gridops.reference.calendar import WORKDAY_MINUTES

TIMEZONE = "Asia/Shanghai"
TZ = ZoneInfo(TIMEZONE)
DEFAULT_END = datetime(2026, 11, 15, 18, 0, tzinfo=TZ)
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
# 2: reports and their scripts (incident_steps.csv); 1 carried a ready-made history (incident_events.csv)
FORMAT_VERSION = 2


def _level(code: str, name: str, name_en: str, depth: int, code_digits: int, optional: bool = False,
           households_min: int | None = None, households_max: int | None = None) -> dict[str, Any]:
    """One area level as city.json carries it (the keys in this order: the manifest's bytes depend on it)."""
    return {"code": code, "name": name, "name_en": name_en, "depth": depth, "code_digits": code_digits, "optional": optional,
            "households_min": households_min, "households_max": households_max}


POLICE_LEVELS = [
    _level("police_station", "派出所辖区", "Police station area", 10, 9),
    _level("police_grid", "警格", "Police grid", 11, 3),
]
LEVELS = [
    _level("district", "区", "District", 0, 6),
    _level("street", "街道", "Street (sub-district)", 1, 3),
    _level("community", "社区", "Community", 2, 3),
    _level("cluster", "小分格", "Grid cluster", 3, 2, optional=True),
    _level("grid", "网格", "Grid", 4, 3, households_min=300, households_max=500),
    _level("micro_grid", "微网格", "Micro-grid", 5, 3, households_min=50, households_max=80),
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


# the classes (大类) the categories below belong to, in the order the pages list them
CATEGORY_GROUPS = [
    {"code": "dispute", "name": "矛盾纠纷", "name_en": "Disputes", "position": 10},
    {"code": "hazard", "name": "安全隐患", "name_en": "Hidden hazards", "position": 20},
    {"code": "order", "name": "公共秩序", "name_en": "Public order", "position": 30},
    {"code": "environment", "name": "市容环境", "name_en": "City appearance and environment", "position": 40},
    {"code": "livelihood", "name": "民生服务", "name_en": "Livelihood services", "position": 50},
    {"code": "care", "name": "关爱帮扶", "name_en": "Care and help", "position": 60},
    {"code": "security", "name": "治安防范", "name_en": "Public security", "position": 70},
]
# the accept (受理) and verify (核查) limits by urgency, in minutes (of working time where the category counts it)
STAGE_LIMITS = {"critical": (15, 4 * 60), "urgent": (60, 24 * 60), "normal": (4 * 60, 48 * 60), "low": (8 * 60, 72 * 60)}


class CategorySpec(NamedTuple):
    """One incident category: its time limit (minutes, of working time or the clock), who handles it,
    how near and how recent a report must be to count as a duplicate, and how often it is reported."""

    code: str
    name: str
    name_en: str
    group: str
    urgency: str
    limit: int  # minutes
    working: bool  # the limit counts working time only
    handler: str  # "grid" or "department"
    department: str | None
    radius: int | None  # dedupe radius, m
    window: int | None  # dedupe window, hours
    keywords: str
    rate: float  # reports per 1,000 households per week


_HOUR = 60
_DAY = 24 * _HOUR
_WD = WORKDAY_MINUTES
CATEGORIES = [
    CategorySpec("dispute.neighbour", "邻里纠纷", "Neighbour dispute", "dispute", "normal", 3 * _DAY, False,
                 "grid", None, 100, 72, "纠纷 吵架 邻居", 1.0),
    CategorySpec("dispute.property", "物业纠纷", "Property-management dispute", "dispute", "normal", 5 * _WD, True,
                 "grid", None, 100, 72, "物业 收费 纠纷", 0.5),
    CategorySpec("hazard.ebike_charging", "电动车违规充电", "Illegal e-bike charging", "hazard", "urgent", 24 * _HOUR, False,
                 "grid", None, 50, 72, "飞线 充电 电动车", 0.6),
    CategorySpec("hazard.fire_lane", "消防通道堵塞", "Blocked fire lane", "hazard", "urgent", 24 * _HOUR, False,
                 "department", "fire", 100, 48, "消防通道 堵塞 占用", 0.4),
    CategorySpec("hazard.blocked_drain", "排水不畅/井盖缺失", "Blocked drain or missing manhole cover", "hazard", "urgent",
                 48 * _HOUR, False, "department", "water", 100, 72, "下水道 积水 井盖", 0.3),
    CategorySpec("hazard.building_safety", "房屋安全隐患", "Unsafe structure", "hazard", "urgent", 24 * _HOUR, False,
                 "department", "housing", 50, 168, "裂缝 危房 脱落", 0.1),
    CategorySpec("order.noise", "噪声扰民", "Noise nuisance", "order", "normal", 3 * _DAY, False,
                 "grid", None, 100, 72, "噪音 扰民 广场舞", 0.6),
    CategorySpec("order.illegal_construction", "违章搭建", "Illegal construction", "order", "normal", 15 * _WD, True,
                 "department", "urban_management", 50, 336, "违建 搭建 加层", 0.25),
    CategorySpec("environment.garbage", "垃圾堆放", "Rubbish dumping", "environment", "normal", 48 * _HOUR, False,
                 "department", "sanitation", 100, 48, "垃圾 堆放 清运", 0.8),
    CategorySpec("livelihood.repair", "公共设施报修", "Public facility repair", "livelihood", "normal", 5 * _WD, True,
                 "department", "property", 50, 168, "路灯 电梯 报修", 0.6),
    CategorySpec("care.elderly", "老人关爱/就医求助", "Help for the elderly or a medical request", "care", "critical", 2 * _HOUR, False,
                 "grid", None, None, None, "老人 独居 就医 求助", 0.3),
    CategorySpec("security.suspicious", "可疑情况", "Suspicious activity", "security", "urgent", 12 * _HOUR, False,
                 "department", "police", 200, 24, "可疑 陌生人 盗窃", 0.15),
]


def category_row(c: CategorySpec) -> dict[str, Any]:
    """A category as city.json carries it (and as the generator reads it back while it writes reports)."""
    return {
        "code": c.code, "name": c.name, "name_en": c.name_en, "group_code": c.group, "urgency": c.urgency,
        "accept_limit_minutes": min(STAGE_LIMITS[c.urgency][0], c.limit), "time_limit_minutes": c.limit,
        "verify_limit_minutes": STAGE_LIMITS[c.urgency][1] if not c.working else 2 * _WD, "working_time": c.working,
        "handler": c.handler, "department_code": c.department,
        "dedupe_radius_m": c.radius, "dedupe_window_hours": c.window, "keywords": c.keywords,
        "description": f"{c.name} ({c.name_en})", "weekly_rate_per_1000_households": c.rate,
        **visibility(c.group, c.department),
    }


def visibility(group: str | None, department: str | None) -> dict[str, bool]:
    """Care and police matters stay off the public view; their words, and disputes', are never public
    (the rule migration 0013 applied to the categories it found)."""
    return {"public": group != "care" and department != "police",
            "sensitive": group in ("care", "dispute") or department == "police"}


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

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红玲芬燕彬斌宇浩凯健俊帆旭宁龙林欣悦梓涵轩诺桐然怡琳晨博文"
STREET_NAMES = ["青石街道", "玉泉街道"]
COMMUNITY_NAMES = ["桂花社区", "芙蓉社区", "银杏社区", "翠柳社区", "文庙社区", "新桥社区", "望江社区", "紫荆社区"]
EW_ROADS = ["锦华大道", "文星路", "玉泉路", "青石大道", "桂溪路", "望江路", "芙蓉大道", "书院路", "临江路", "府河路"]
NS_ROADS = [
    "东城大街", "书院街", "红星街", "人民大街", "建设街", "和平街", "解放大街", "光华街", "新华街", "西城大街",
    "双桥街", "金沙街", "锦官街",
]
COMPOUND_HEADS = [
    "金桂", "翠竹", "锦绣", "和平", "幸福", "阳光", "碧水", "青松", "紫荆", "丽景",
    "华府", "滨江", "书香", "康乐", "长青", "春晖", "瑞祥", "枫林", "兰亭", "雅居",
]
COMPOUND_TAILS = ["苑", "园", "小区", "花园", "家园", "里", "公寓"]
LANE_HEADS = ["青石", "柳荫", "槐树", "井巷", "瓦窑", "打铜", "染坊", "鼓楼", "棉花", "豆腐"]
PUBLIC_NAMES = {"school": "小学", "market": "农贸市场", "clinic": "社区卫生服务站", "office": "商务楼", "pavilion": "街心公园"}

# what a report says, by category (one is drawn at random)
DESCRIPTIONS = {
    "dispute.neighbour": ["楼上漏水到楼下，双方协商不成发生争吵", "邻居在楼道堆放杂物引发矛盾", "因停车位问题邻里发生口角"],
    "dispute.property": ["物业费收费标准有争议，业主要求公示", "小区门禁损坏物业长期未修，业主不满"],
    "hazard.ebike_charging": [
        "有人从楼上拉电线给电动车充电（飞线充电）", "电动车推进楼道内充电，存在火灾隐患", "单元门口私接插座给电动车充电",
    ],
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
# who takes a scripted step, resolved when it is played: the command centre's supervisor on duty, whoever
# holds the incident at that moment (routing chose them), the leader of the incident's grid
ACTORS = ("centre", "assignee", "leader")
# how reports come in, and in what shares per category (the same order as CHANNELS)
CHANNELS = ["app", "qr", "photo", "hotline", "patrol"]
CHANNEL_MIX = {
    "care.elderly": [0.15, 0.35, 0.0, 0.45, 0.05],
    "security.suspicious": [0.35, 0.05, 0.1, 0.45, 0.05],
    "hazard.blocked_drain": [0.25, 0.0, 0.25, 0.15, 0.35],
    "environment.garbage": [0.3, 0.05, 0.3, 0.1, 0.25],
}
DEFAULT_CHANNEL_MIX = [0.35, 0.15, 0.1, 0.2, 0.2]
# share of reports by hour of day (local): quiet at night, busy mornings and evenings
HOURLY = np.array([1, 0.5, 0.3, 0.3, 0.4, 0.8, 2, 4, 6, 7, 7, 6, 5, 5, 6, 6, 6, 6, 6, 7, 7, 5, 3, 2], dtype=float)
# what a call-back's rating is written as
RATINGS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不太满意", 1: "不满意"}
# visits per kind of person (走访对象), in days
PATROL_INTERVALS = {"elderly_alone": 7, "disabled": 14}
