"""The dashboard page's figures: the measures for the chosen level, area and month, ready for the template — each cell
with its value as shown, its value to sort by, its flag and its change against the previous period."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask_babel import gettext

from gridops.access.policy import ALL, READ_MESSAGES, Principal
from gridops.analytics.stats import DEFINITIONS, FLAGS, LEVELS, StatsQuery, area_choices, area_named, month_of, stats
from gridops.core import clock
from gridops.core.db import Database
from gridops.core.errors import GridopsError
from gridops.core.timeparse import parse_month
from gridops.messages.deliveries import failed_count
from gridops.registers import calendars, people
from gridops.web.i18n import N_, status_words
from gridops.web.measures import (
    AREA_COLUMNS,
    FLAG_NAMES,
    ROLE_NAMES,
    TABLE_KEYS,
    TEAM_NAMES,
    WORKER_COLUMNS,
    Column,
    category_name,
    english,
    level_name,
    team,
    unknown_area_said,
)
from gridops.web.problems import describe
from gridops.web.request import PAGE_HEADER

# a change is good news when it goes this way (the others are shown without a colour)
BETTER_UP = {"closed", "closure_rate", "on_time_rate", "in_grid_rate", "satisfaction", "proactive_rate", "visits", "closed_on_time"}
BETTER_DOWN = {"overdue", "median_hours", "rework_rate"}

# the words the page's script uses (gridopsT)
SCRIPT_WORDS = {
    "reported": N_("Incidents reported"), "closed": N_("Incidents closed"),
    "daily_title": N_("Reported and closed per day"),
    "worst_title": N_("Lowest on-time closure rate"),
    "on_time_rate": N_("On-time closure rate"),
    "sort_asc": N_("sorted ascending"), "sort_desc": N_("sorted descending"),
}

FLAG_MEANING = {
    "on_time_rate": N_("On-time closure rate"), "in_grid_rate": N_("In-grid resolution rate"),
    "satisfaction": N_("Satisfaction rate"), "proactive_rate": N_("Proactive discovery rate"), "overdue": N_("Overdue"),
}


def _month(raw: str | None, tz: str) -> tuple[datetime, datetime, str]:
    zone = ZoneInfo(tz)
    if not raw:
        since, until = month_of(clock.now(), tz)
    else:
        since, until = month_of(parse_month(raw, tz), tz)
    return since, until, since.astimezone(zone).strftime("%Y-%m")


def _uncovered(grids: list[str], who: Principal, area: str | None) -> list[str]:
    """The grids nobody answers for, of the area shown and the ground the user sees."""
    return [g for g in grids if (not area or g.startswith(area)) and (who.policy.measures == ALL or who.covers(g))]


def shown(kind: str, v: Any) -> str:
    if v is None:
        return "–"
    if kind == "rate":
        return f"{v * 100:.1f}%"
    if kind == "hours":
        return f"{v:.1f}"
    return str(v)


def _trend(key: str, kind: str, change: float | None, before: Any) -> dict[str, str] | None:
    if change is None:
        return None
    amount = change * 100 if kind == "rate" else change
    if round(amount, 1) == 0:
        arrow, text = "＝", ""
    else:
        arrow = "▲" if amount > 0 else "▼"
        text = f"{abs(amount):.1f}" if kind in ("rate", "hours") else str(abs(int(amount)))
    good = (key in BETTER_UP and amount > 0) or (key in BETTER_DOWN and amount < 0)
    bad = (key in BETTER_UP and amount < 0) or (key in BETTER_DOWN and amount > 0)
    unit = gettext("percentage points") if kind == "rate" else ""
    said = arrow + text
    return {"text": said, "cls": "better" if good else "worse" if bad else "same",
            "title": gettext("previous period: %(v)s; change: %(c)s %(u)s", v=shown(kind, before), c=said, u=unit).strip()}


def cell(col: Column, row: Mapping[str, Any]) -> dict[str, Any]:
    v = row.get(col.key)
    flag = (row.get("flags") or {}).get(col.key)
    return {"text": shown(col.kind, v), "sort": "" if v is None else v, "flag": flag,
            "flag_name": gettext(FLAG_NAMES[flag]) if flag else "",
            "trend": _trend(col.key, col.kind, (row.get("trend") or {}).get(col.key), (row.get("previous") or {}).get(col.key))
            if col.trend else None}


def _local_range(since: str, until: str, tz: str) -> str:
    zone = ZoneInfo(tz)
    a = datetime.fromisoformat(since).astimezone(zone)
    b = (datetime.fromisoformat(until) - timedelta(seconds=1)).astimezone(zone)
    return f"{a:%Y-%m-%d} – {b:%Y-%m-%d}"


def _thresholds() -> list[dict[str, str]]:
    out = []
    for m, (higher, green, amber) in FLAGS.items():
        rate = m != "overdue"
        g = f"{green * 100:.0f}%" if rate else f"{green:g}"
        a = f"{amber * 100:.0f}%" if rate else f"{amber:g}"
        if higher:
            text = gettext("green from %(g)s, amber from %(a)s, red below %(a)s", g=g, a=a)
        else:
            text = gettext("green at %(g)s, amber up to %(a)s, red above %(a)s", g=g, a=a)
        out.append({"measure": gettext(FLAG_MEANING[m]), "text": text})
    return out


def dashboard_context(db: Database, cfg: Mapping[str, Any], who: Principal, args: Mapping[str, str]) -> tuple[dict[str, Any], int]:
    level = args.get("level") or "grid"
    tz = cfg["TIMEZONE"]
    area = (args.get("area") or "").strip() or (None if who.policy.measures == ALL else (who.areas[0] if who.areas else None))
    context: dict[str, Any] = {"levels": [(lv, level_name(lv)) for lv in LEVELS if lv != "district"], "level": level,
                               "level_name": level_name(level), "area": area or "", "problem": None, "result": None,
                               "uncovered": [], "missing_years": [], "failed_messages": None, "choices": [],
                               "script_words": SCRIPT_WORDS}
    try:
        since, until, month = _month(args.get("month"), tz)
        context["month"] = month
        with db.session() as session, unknown_area_said():
            context["choices"] = area_choices(session, cfg["PRIMARY_LAYER"], None if who.policy.measures == ALL else who.areas)
            result = stats(session, StatsQuery(level=level, area=area, since=since, until=until, layer=cfg["PRIMARY_LAYER"]), who, tz)
            names = {a["code"]: a["name"] for a in context["choices"]}
            context.update(uncovered=[(g, names.get(g, g)) for g in
                                      _uncovered(people.uncovered_grids(session, cfg["PRIMARY_LAYER"]), who, area)],
                           missing_years=calendars.missing_years(session),
                           failed_messages=failed_count(session) if who.can(READ_MESSAGES) else None)
    except GridopsError as err:
        p = describe(err)
        context.update(problem=p.detail, month=args.get("month") or "")
        return context, p.status
    query = {"level": level, "since": since.astimezone(UTC).isoformat(), "until": until.astimezone(UTC).isoformat()}
    if area:
        query["area"] = area
    columns = [c for c in AREA_COLUMNS if c.key in TABLE_KEYS]
    cats = list(result["categories"])
    rows = [{"code": r["code"], "name": r["name"] or r["code"], "cells": [cell(c, r) for c in columns],
             "by_category": [r["by_category"].get(c, 0) for c in cats]} for r in result["rows"]]
    workers = result["ranking"]["workers"]
    people_rows = {which: [{"code": w["code"], "name": w["name"], "rank": k + 1,  # the rank within the team
                            "role": gettext(ROLE_NAMES[w["role"]]) if w["role"] in ROLE_NAMES else w["role"],
                            "cells": [cell(c, w) for c in WORKER_COLUMNS]} for k, w in enumerate(team(workers, which))]
                   for which in ("grid", "staff")}
    scored = [r for r in result["rows"] if r["on_time_rate"] is not None]
    worst = sorted(scored, key=lambda r: (r["on_time_rate"], -r["due"], r["code"]))[:10]
    chart = {"daily": result["daily"],
             "worst": [{"name": r["name"] or r["code"], "code": r["code"], "value": r["on_time_rate"],
                        "flag": (r.get("flags") or {}).get("on_time_rate")} for r in worst]}
    totals = result["totals"]
    context.update(
        result=result, rows=rows, columns=[(c, gettext(c.title)) for c in columns], people=people_rows,
        team_names={k: gettext(v) for k, v in TEAM_NAMES.items()},
        categories=[category_name(result["categories"], c) for c in cats],
        kpis=[(gettext(c.title), cell(c, totals)) for c in AREA_COLUMNS
              if c.key in ("reported", "proactive_rate", "closure_rate", "on_time_rate", "in_grid_rate", "median_hours", "overdue",
                           "satisfaction")],
        period=_local_range(result["since"], result["until"], tz),
        previous=_local_range(result["previous"]["since"], result["previous"]["until"], tz) if result.get("previous") else "",
        chart=chart, thresholds=_thresholds(), worker_columns=[gettext(c.title) for c in WORKER_COLUMNS],
        definitions=[gettext(v) for v in DEFINITIONS.values()],
        csv_url="/api/v1/stats?" + urlencode({**query, "format": "csv"}),
        xlsx_url="/api/v1/stats?" + urlencode({**query, "format": "xlsx"}),
        geojson_url="/api/v1/stats?" + urlencode({**query, "format": "geojson"}))
    return context, 200


SCREEN_WORDS = {
    "open_n": N_("{n} open"), "overdue_n": N_("{n} overdue"), "no_open": N_("nothing open"),
    "on_time": N_("on time {p}"), "live": N_("live"), "reconnecting": N_("reconnecting…"), "updated": N_("updated {t}"),
    "none": N_("none yet this month"),
}


def screen_context(db: Database, cfg: Mapping[str, Any], who: Principal, args: Mapping[str, str]) -> tuple[dict[str, Any], int]:
    """The big screen's frame (its figures come from /api/v1/stats/live, asked again on each event of the feed)."""
    area = (args.get("area") or "").strip() or (None if who.policy.measures == ALL else (who.areas[0] if who.areas else None))
    context: dict[str, Any] = {"area": area or "", "area_name": "", "problem": None, "script_words": {**SCREEN_WORDS, **status_words()}}
    try:
        with db.session() as session, unknown_area_said():
            if area:
                context["area_name"] = area_named(session, cfg["PRIMARY_LAYER"], area)["name"]
    except GridopsError as err:
        p = describe(err)
        context["problem"] = p.detail
        return context, p.status
    higher, green, amber = FLAGS["overdue"]
    context["screen"] = {"pageHeader": PAGE_HEADER, "area": area, "timezone": cfg["TIMEZONE"], "layer": cfg["PRIMARY_LAYER"],
                         "overdue": {"green": green, "amber": amber}, "lang": "en" if english() else "zh-CN"}
    return context, 200
