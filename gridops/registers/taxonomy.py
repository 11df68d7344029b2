"""An event taxonomy in and out of a file: classes (大类) and their categories (小类) with names, urgency,
each stage's time limit and who handles them — the way a city receives a GB/T 30428-style catalogue
(大类代码, 大类名称, 小类代码, 小类名称, 处置时限 …) as a spreadsheet, and the way it sends its own back.

Every row is checked against the same rules as a category changed one at a time
(gridops.registers.categories); a file with a bad row stores nothing and names the row. A good file is
stored in the caller's transaction as one audit event, holding each category's and class's fields before
and after. Rows for categories the city has already are changes to them (only the columns the file has);
a new category needs its name and its handling limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.access.policy import Principal
from gridops.core.errors import GridopsError, InvalidParameter
from gridops.core.models import Category, CategoryGroup
from gridops.core.words import Say
from gridops.registers.audit import record_change
from gridops.registers.categories import KIND, URGENCIES, apply_fields, category_facts, group_facts, may_keep, next_position
from gridops.registers.files import read_rows, refuse

COLUMNS = ("group_code", "group_name", "group_name_en", "code", "name", "name_en", "urgency", "accept_hours",
           "handle_hours", "verify_hours", "working_time", "handler", "department_code", "dedupe_radius_m",
           "dedupe_window_hours", "public", "sensitive", "keywords")
# the headers a clerk's sheet has (a unit in brackets after a header is read past: 处置时限(小时))
ALIASES = {
    "大类代码": "group_code", "大类编码": "group_code", "大类编号": "group_code", "大类名称": "group_name", "大类": "group_name",
    "大类英文名称": "group_name_en", "小类代码": "code", "小类编码": "code", "小类编号": "code", "代码": "code", "编码": "code",
    "小类名称": "name", "小类": "name", "名称": "name", "英文名称": "name_en", "紧急程度": "urgency", "紧急度": "urgency",
    "受理时限": "accept_hours", "处置时限": "handle_hours", "办结时限": "handle_hours", "时限": "handle_hours",
    "核查时限": "verify_hours", "按工作时": "working_time", "工作时": "working_time", "计时方式": "working_time",
    "处置主体": "handler", "责任部门": "department_code", "部门": "department_code", "查重半径": "dedupe_radius_m",
    "查重时窗": "dedupe_window_hours", "公开": "public", "敏感": "sensitive", "关键词": "keywords",
}
URGENCY_WORDS = {"特急": "critical", "紧急": "urgent", "一般": "normal", "普通": "normal", "低": "low", "较低": "low"}
HANDLER_WORDS = {"网格": "grid", "部门": "department"}
YES = {"1", "true", "yes", "y", "是", "工作时", "工作日"}
NO = {"0", "false", "no", "n", "否", "自然时", "自然日"}
HOURS = {"accept_hours": "accept_limit_minutes", "handle_hours": "time_limit_minutes", "verify_hours": "verify_limit_minutes"}
_UNIT = re.compile(r"[(（].*?[)）]")


@dataclass(frozen=True)
class TaxonomyImported:
    rows: int
    created: list[str]
    updated: list[str]
    groups_created: list[str]
    groups_updated: list[str]
    unchanged: int  # categories the file gives as the city has them


def import_taxonomy(session: Session, who: Principal | None, data: bytes, *, name: str = "",
                    note: str | None = None) -> TaxonomyImported:
    """Check every row, then store the classes and categories (or nothing, with the bad rows named)."""
    may_keep(who)
    problems: list[dict[str, Any]] = []
    groups: dict[str, tuple[int, dict[str, Any]]] = {}
    categories: dict[str, tuple[int, dict[str, Any]]] = {}
    count = 0
    for number, raw in read_rows(data, name):
        row = {ALIASES.get(_UNIT.sub("", k).strip(), _UNIT.sub("", k).strip()): v for k, v in raw.items()}
        if count == 0 and "code" not in row and "group_code" not in row:
            raise InvalidParameter("file", Say("the header row needs a column code (小类代码) or group_code (大类代码)."))
        count += 1
        for bad in _read_row(number, row, groups, categories):
            problems.append({"row": number, "field": bad.details.get("field"), "detail": bad.message})
    if problems:
        raise refuse(problems)
    if not categories and not groups:
        raise InvalidParameter("file", Say("the file holds no classes or categories under its header row."))
    with session.begin_nested():  # the rules of one category at a time, checked on the rows themselves: all or nothing
        done = _store(session, groups, categories, problems)
        if problems:
            raise refuse(sorted(problems, key=lambda p: p["row"]))
        record_change(session, who, KIND, f"import:{name or 'upload'}", "import", done.pop("before"), done.pop("after"),
                      note=note)
    return TaxonomyImported(count, **done)


def export_taxonomy(session: Session) -> list[dict[str, Any]]:
    """Every class and category as the import reads them (a class with no categories as a row of its own)."""
    names = {g.code: g for g in session.scalars(select(CategoryGroup).order_by(CategoryGroup.position, CategoryGroup.code))}
    by_group: dict[str | None, list[Category]] = {}
    for c in session.scalars(select(Category).order_by(Category.code)):
        by_group.setdefault(c.group_code, []).append(c)
    rows: list[dict[str, Any]] = []
    for code in [*names, None]:
        g = names.get(code) if code else None
        head = {"group_code": code, "group_name": g.name if g else None, "group_name_en": g.name_en if g else None}
        members = by_group.get(code, [])
        if not members and g is not None:
            rows.append(head)
        for c in members:
            rows.append({**head, "code": c.code, "name": c.name, "name_en": c.name_en, "urgency": c.urgency,
                         **{h: _hours(getattr(c, m)) for h, m in HOURS.items()},
                         "working_time": c.working_time, "handler": c.handler, "department_code": c.department_code,
                         "dedupe_radius_m": c.dedupe_radius_m, "dedupe_window_hours": c.dedupe_window_hours,
                         "public": c.public, "sensitive": c.sensitive, "keywords": c.keywords})
    return rows


def _hours(minutes: int | None) -> float | int | None:
    if minutes is None:
        return None
    hours = minutes / 60
    return int(hours) if hours.is_integer() else round(hours, 2)


def _read_row(number: int, row: dict[str, Any], groups: dict[str, tuple[int, dict[str, Any]]],
              categories: dict[str, tuple[int, dict[str, Any]]]) -> list[InvalidParameter]:
    """The row's class and category noted for storing; what is wrong with its cells, each of them."""
    bad: list[InvalidParameter] = []
    group = row.get("group_code")
    if group:
        names = {k: row[f"group_{k}"] for k in ("name", "name_en") if row.get(f"group_{k}")}
        if group in groups:
            first, known = groups[group]
            for k, v in names.items():
                if known.setdefault(k, v) != v:
                    bad.append(InvalidParameter(f"group_{k}", f"class {group} is named {known[k]!r} in row {first} and {v!r} here."))
        else:
            groups[group] = (number, names)
    code = row.get("code")
    if not code:
        if not group:
            bad.append(InvalidParameter("code", "a row names a category (code, 小类代码) or a class (group_code, 大类代码)."))
        return bad
    if code in categories:
        return [*bad, InvalidParameter("code", f"category {code} is in the file twice (rows {categories[code][0]} and {number}).")]
    changes: dict[str, Any] = {"group_code": group} if group else {}  # an empty class cell leaves the class as it is
    for key in ("name", "name_en", "department_code", "keywords"):
        if row.get(key):
            changes[key] = row[key]
    readers: list[tuple[str, str, Callable[[str, str], Any]]] = [
        ("urgency", "urgency", _urgency), ("handler", "handler", _handler),
        *((column, field, _minutes) for column, field in HOURS.items()),
        *((key, key, _number) for key in ("dedupe_radius_m", "dedupe_window_hours")),
        *((key, key, _yes) for key in ("working_time", "public", "sensitive")),
    ]
    for column, field, read in readers:
        if row.get(column):
            try:
                changes[field] = read(column, row[column])
            except InvalidParameter as wrong:
                bad.append(wrong)
    if not bad:
        categories[code] = (number, changes)
    return bad


def _urgency(column: str, text: str) -> str:
    urgency = URGENCY_WORDS.get(text, text.lower())
    if urgency not in URGENCIES:
        raise InvalidParameter(column, Say("urgency is one of %(urgencies)s (特急, 紧急, 一般, 低); got %(text)r.",
                                           urgencies=', '.join(URGENCIES), text=text))
    return urgency


def _handler(column: str, text: str) -> str:
    return HANDLER_WORDS.get(text, text.lower())  # checked with the category's other rules


def _minutes(column: str, text: str) -> int:
    hours = _number(column, text)
    minutes = round(hours * 60)
    if minutes < 1:
        raise InvalidParameter(column, Say("%(column)s is a number of hours above zero; got %(text)r.", column=column, text=text))
    return minutes


def _number(column: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidParameter(column, Say("%(column)s is a number; got %(text)r.", column=column, text=text)) from None


def _yes(column: str, text: str) -> bool:
    word = text.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    raise InvalidParameter(column, Say("%(column)s is 是 or 否 (yes or no); got %(text)r.", column=column, text=text))


def _store(session: Session, groups: dict[str, tuple[int, dict[str, Any]]], categories: dict[str, tuple[int, dict[str, Any]]],
           problems: list[dict[str, Any]]) -> dict[str, Any]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    made: dict[str, Any] = {"created": [], "updated": [], "groups_created": [], "groups_updated": [], "unchanged": 0}
    position = next_position(session)
    unnamed: set[str] = set()  # new classes the file does not name: their categories are not checked against them
    for code, (number, names) in groups.items():
        group = session.get(CategoryGroup, code)
        if group is None:
            if not names.get("name"):
                problems.append({"row": number, "field": "group_name",
                                 "detail": f"class {code} is new: the file needs its name (大类名称)."})
                unnamed.add(code)
                continue
            group = CategoryGroup(code=code, position=position)
            position += 10
            session.add(group)
            made["groups_created"].append(code)
        elif any(getattr(group, k) != v for k, v in names.items()):
            before[f"group:{code}"] = group_facts(group)
            made["groups_updated"].append(code)
        else:
            continue
        for k, v in names.items():
            setattr(group, k, v)
        after[f"group:{code}"] = group_facts(group)
    session.flush()
    for code, (number, changes) in categories.items():
        if changes.get("group_code") in unnamed:
            continue
        category = session.get(Category, code)
        try:
            if category is None:
                category = _new(code, number, changes)
                apply_fields(session, category, changes)
                session.add(category)
                made["created"].append(code)
            else:
                was = category_facts(category)
                apply_fields(session, category, changes)
                now = category_facts(category)
                changed = [k for k in now if now[k] != was[k]]  # the trail keeps what changed of each, as for one change
                if not changed:
                    made["unchanged"] += 1
                    continue
                before[code] = {k: was[k] for k in changed}
                after[code] = {k: now[k] for k in changed}
                made["updated"].append(code)
                continue
            after[code] = category_facts(category)
        except GridopsError as bad:
            problems.append({"row": number, "field": bad.details.get("field"), "detail": bad.message})
    session.flush()
    return {**made, "before": before, "after": after}


def _new(code: str, number: int, changes: dict[str, Any]) -> Category:
    for needed, header in (("name", "小类名称"), ("time_limit_minutes", "处置时限")):
        if changes.get(needed) is None:
            raise InvalidParameter(needed, Say("category %(code)s is new: the file needs its %(needed)s (%(header)s).",
                                               code=code, needed=needed, header=header))
    changes.setdefault("name_en", changes["name"])
    changes.setdefault("urgency", "normal")
    return Category(code=code, handler="grid", working_time=False, active=True, public=True, sensitive=False,
                    separate_verifier=True)
