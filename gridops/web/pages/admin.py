"""The registers' pages (/admin): the people who answer for the ground, their rotas, the holiday
calendar, the categories and their time limits, buildings and households, and the audit trail.

The pages read through the same functions of gridops.registers as the API and the CLI, scoped alike
(a community admin sees their own community); every change is made by the page's script calling the
API (static/admin.js), so a page and a `curl` meet the same checks and the same audit trail.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from flask import current_app, render_template, request
from flask_babel import get_locale, gettext
from sqlalchemy import select

from gridops.access.policy import (
    KEEP_BUILDINGS,
    KEEP_CITY,
    KEEP_MESSAGES,
    KEEP_PEOPLE,
    KEEP_REGISTERS,
    READ_MESSAGES,
    READ_PEOPLE,
    READ_REGISTERS,
    RESEND,
    ROLES,
    Principal,
)
from gridops.boundaries.areas import area_names
from gridops.core import clock
from gridops.core.errors import GridopsError
from gridops.core.models import Department
from gridops.messages.deliveries import CHANNELS, STATUSES, MessageQuery
from gridops.messages.kinds import KINDS as MESSAGE_KINDS
from gridops.messages.kinds import LANGS
from gridops.reference.calendar import workday_minutes
from gridops.registers import (
    building_files,
    buildings,
    calendars,
    categories,
    households,
    messaging,
    people,
    people_files,
    rosters,
    shift_passes,
    visit_files,
    visits,
)
from gridops.registers.audit import ChangeQuery
from gridops.registers.trail import visible_changes, visible_page
from gridops.web.context import use_case_context
from gridops.web.i18n import N_
from gridops.web.pages.base import PageAnswer, pages, signed_in
from gridops.web.problems import PROBLEM_TYPES, describe
from gridops.web.request import PAGE_HEADER, database

WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"))
# the trail's kinds and actions as the pages name them (the API keeps the codes)
KINDS = {people.KIND_WORKER: N_("person"), people.KIND_ASSIGNMENT: N_("assignment"), rosters.KIND: N_("rota"),
         calendars.KIND: N_("holiday calendar"), categories.KIND: N_("category"), buildings.KIND: N_("building"),
         households.KIND: N_("households import"), visits.KIND: N_("visit register"), rosters.KIND_DEPARTMENT: N_("department"),
         people_files.KIND_WORKERS: N_("people import"), people_files.KIND_ASSIGNMENTS: N_("assignments import"),
         building_files.KIND: N_("buildings import"), visit_files.KIND: N_("visit registers import"),
         messaging.KIND_TEMPLATE: N_("message wording"), messaging.KIND_SETTING: N_("channel setting"),
         messaging.KIND_ROBOT: N_("group robot"), messaging.KIND_DELIVERY: N_("message copy"),
         shift_passes.KIND: N_("QR sign-in")}
# the groups people are visited for (gridops.field.patrols.KINDS), as the pages name them
REGISTER_KINDS = {"elderly_alone": N_("elderly living alone"), "left_behind_child": N_("left-behind child"),
                  "disabled": N_("disabled resident"), "special_care": N_("special care"), "low_income": N_("subsistence allowance"),
                  "key_person": N_("key person")}
SHOWN_ENTRIES = 500
URGENCIES = {"critical": N_("critical"), "urgent": N_("urgent"), "normal": N_("normal"), "low": N_("low")}
USES = {"residential": N_("residential"), "mixed": N_("mixed use"), "commercial": N_("commercial"), "public": N_("public building"),
        "industrial": N_("industrial"), "vacant": N_("vacant")}
REASONS = {"change": N_("changed"), "leave": N_("leave"), "swap": N_("swap")}
ACTIONS = {"create": N_("added"), "update": N_("changed"), "deactivate": N_("left (deactivated)"), "end": N_("ended"),
           "set": N_("set"), "clear": N_("cleared"), "import": N_("imported"), "demolish": N_("demolished"),
           "set_day": N_("a day set"), "clear_day": N_("a day back to the week"), "leave": N_("leave"), "swap": N_("swap"),
           "move": N_("moved"), "pause": N_("paused"), "resume": N_("resumed"), "retry": N_("sent again"),
           "remove": N_("removed"), "revoke": N_("revoked")}
# a message copy's status and channel as the pages name them
MESSAGE_STATUSES = {"queued": N_("queued"), "held": N_("held (quiet hours)"), "sent": N_("sent"), "delivered": N_("delivered"),
                    "failed": N_("failed"), "waiting": N_("not yet fanned out")}
MESSAGE_CHANNELS = {"sms": N_("SMS"), "wecom": N_("WeCom"), "email": N_("e-mail"), "wecom_robot": N_("WeCom group robot"),
                    "dingtalk": N_("DingTalk robot")}
SETTING_SOURCES = {"page": N_("this page"), "environment": N_("the environment"), "default": N_("the default")}


@pages.app_template_filter("segment")
def segment(code: str) -> str:
    """A code as one segment of an API path (codes are free text: a slash or a space must not change the path)."""
    return quote(str(code), safe="")


@pages.app_template_global()
def kind_name(kind: str) -> str:
    return gettext(KINDS[kind]) if kind in KINDS else kind


@pages.app_template_global()
def register_kind(kind: str) -> str:
    return gettext(REGISTER_KINDS[kind]) if kind in REGISTER_KINDS else kind


@pages.app_template_global()
def action_name(action: str) -> str:
    return gettext(ACTIONS[action]) if action in ACTIONS else action


@pages.app_template_global()
def message_status(status: str) -> str:
    return gettext(MESSAGE_STATUSES[status]) if status in MESSAGE_STATUSES else status


@pages.app_template_global()
def channel_name(channel: str) -> str:
    return gettext(MESSAGE_CHANNELS[channel]) if channel in MESSAGE_CHANNELS else channel


@pages.app_template_global()
def message_kind(kind: str) -> str:
    found = MESSAGE_KINDS.get(kind)
    return role_label((found.name, found.name_en)) if found else kind


pages.add_app_template_filter(channel_name, "channel_label")
pages.add_app_template_filter(message_kind, "message_kind_label")


@pages.app_template_global()
def setting_source(source: str) -> str:
    return gettext(SETTING_SOURCES[source]) if source in SETTING_SOURCES else source


@pages.app_template_global()
def duty_label(duty: str) -> str:
    return role_label(people.DUTIES[duty]) if duty in people.DUTIES else duty


@pages.app_template_global()
def reason_label(reason: str) -> str:
    return gettext(REASONS[reason]) if reason in REASONS else reason


@pages.app_template_global()
def urgency_label(urgency: str) -> str:
    return gettext(URGENCIES[urgency]) if urgency in URGENCIES else urgency


@pages.app_template_global()
def use_label(use: str) -> str:
    return gettext(USES[use]) if use in USES else use


@pages.app_template_global()
def limit_label(minutes: int, working_time: bool, day: int | None = None) -> str:
    """A time limit as people say it: 2 hours, 3 working days (a working day of `day` minutes: the office day's
    hours, or the category's department's own)."""
    day = day or workday_minutes(current_app.extensions["gridops.references"].office_hours)
    if working_time and minutes % day == 0:
        return gettext("%(n)d working day(s)", n=minutes // day)
    hours = minutes / 60
    text = f"{hours:g}" if hours >= 1 else f"{minutes}"
    if hours < 1:
        return gettext("%(n)s minute(s)", n=text)
    return gettext("%(n)s working hour(s)", n=text) if working_time else gettext("%(n)s hour(s)", n=text)


@pages.app_template_global()
def problem_titles() -> dict[str, str]:
    """Each kind of problem's title in the page's language, for the script that shows the API's refusals."""
    return {slug: gettext(title) for slug, (_status, title, _about) in PROBLEM_TYPES.items()}


@pages.app_template_global()
def role_label(names: tuple[str, str]) -> str:
    """A (Chinese, English) pair of names, as the page's language reads it."""
    return names[1] if str(get_locale()) == "en" else names[0]


# the fields the audit trail keeps, as a clerk calls them (a field not named here shows as its code)
FIELD_NAMES: dict[str, tuple[str, str]] = {
    "code": ("编码", "code"), "name": ("名称", "name"), "name_en": ("英文名称", "English name"), "phone": ("电话", "phone"),
    "role": ("角色", "role"), "department_code": ("部门", "department"), "active": ("在岗/启用", "active"),
    "area": ("区域", "area"), "layer": ("图层", "layer"), "duty": ("职责", "duty"), "valid_from": ("起", "from"),
    "valid_to": ("止", "until"), "worker": ("人员", "person"), "kind": ("类别", "kind"),
    "interval_days": ("走访间隔（天）", "visit every (days)"),
    "paused_until": ("暂停至", "paused until"), "building": ("楼栋", "building"), "household": ("门牌码", "door code"),
    "person": ("对象", "person"), "address": ("地址", "address"), "compound": ("小区", "compound"), "use": ("用途", "use"),
    "floors": ("层数", "floors"), "households": ("户数", "households"), "lon": ("经度", "longitude"), "lat": ("纬度", "latitude"),
    "group_code": ("大类", "class"), "description": ("说明", "description"), "urgency": ("紧急程度", "urgency"),
    "accept_limit_minutes": ("受理时限（分钟）", "accept within (min)"), "time_limit_minutes": ("处置时限（分钟）", "handle within (min)"),
    "verify_limit_minutes": ("核查时限（分钟）", "verify within (min)"), "working_time": ("按工作时", "working hours"),
    "handler": ("办理方", "handled by"), "dedupe_radius_m": ("查重半径（米）", "duplicate radius (m)"),
    "dedupe_window_hours": ("查重时窗（小时）", "duplicate window (h)"), "keywords": ("关键词", "keywords"),
    "public": ("公开", "public"), "sensitive": ("敏感", "sensitive"), "separate_verifier": ("另人核查", "separate verifier"),
    "position": ("排列顺序", "position"), "shifts": ("班次", "shifts"), "office_hours": ("办公时间", "office hours"),
    "day": ("日期", "day"), "reason": ("原因", "reason"), "rows": ("行数", "rows"), "created": ("新增", "added"),
    "updated": ("修改", "changed"), "demolished_at": ("拆除时间", "demolished"), "households_before": ("拆除前户数", "households before"),
    "days": ("天数", "days"), "replaced": ("替换", "replaced"), "year": ("年份", "year"),
}


@pages.app_template_global()
def field_label(key: str) -> str:
    return role_label(FIELD_NAMES[key]) if key in FIELD_NAMES else key


@pages.app_template_global()
def actor_label(label: str) -> str:
    """Who made a change, as the trail stores it ("community_admin:张三", "system"), in the page's words."""
    if label == "system":
        return gettext("the system")
    role_code, _, name = label.partition(":")
    found = ROLES.get(role_code)
    return f"{role_label((found.name, found.name_en))} {name}" if found else label


def _page(template: str, who: Principal, status: int = 200, **context: Any) -> PageAnswer:
    """Every register page: who is signed in, what they may change, the page header for the API."""
    may = {"people": who.can(KEEP_PEOPLE), "city": who.can(KEEP_CITY), "buildings": who.can(KEEP_BUILDINGS),
           "registers": who.can(KEEP_REGISTERS), "read_people": who.can(READ_PEOPLE), "read_registers": who.can(READ_REGISTERS),
           "read_messages": who.can(READ_MESSAGES), "messages": who.can(KEEP_MESSAGES), "resend": who.can(RESEND)}
    ground = []
    if who.areas and who.policy.measures != "all":
        with database().session() as session:
            named = _names(session, who.areas)
        ground = [named.get(a, a) for a in who.areas]
    return render_template(template, who=who, may=may, ground=ground, weekday_names=WEEKDAYS, page_header=PAGE_HEADER,
                           now_iso=clock.now().isoformat(),
                           **context), status


def _failed(template: str, who: Principal, err: GridopsError, **context: Any) -> PageAnswer:
    p = describe(err)
    return _page(template, who, p.status, problem=p.detail, **context)


def _arg(name: str) -> str:
    return (request.args.get(name) or "").strip()


def _names(session: Any, codes: Any) -> dict[str, str]:
    return area_names(session, current_app.config["PRIMARY_LAYER"], codes)


@pages.get("/admin")
def admin_home() -> PageAnswer:
    """What needs doing: grids nobody answers for, years with no holiday calendar, the latest changes."""
    who = signed_in()
    layer = current_app.config["PRIMARY_LAYER"]
    with database().session() as session:
        uncovered = [g for g in people.uncovered_grids(session, layer) if who.policy.measures == "all" or who.covers(g)]
        recent = visible_changes(session, use_case_context(), who, ChangeQuery(limit=15))
        return _page("admin/home.html", who, uncovered=uncovered, names=_names(session, uncovered),
                     missing_years=calendars.missing_years(session), recent=recent)


@pages.get("/admin/people")
def admin_people() -> PageAnswer:
    """Find a person by code, name or phone, in an area; add a new one."""
    who = signed_in()
    active = _arg("active") != "0"
    q = people.WorkerQuery(area=_arg("area") or None, text=_arg("q") or None, active=active)
    context: dict[str, Any] = {"q": q, "roles": _roles_for(who), "departments": []}
    with database().session() as session:
        context["departments"] = session.execute(select(Department.code, Department.name).order_by(Department.code)).all()
        try:
            found = people.list_workers(session, who, q)
        except GridopsError as err:
            return _failed("admin/people.html", who, err, people=[], names={}, **context)
        names = _names(session, (a["area"] for p in found for a in p["assignments"]))
        return _page("admin/people.html", who, people=found, names=names, **context)


@pages.get("/admin/people/<code>")
def admin_person(code: str) -> PageAnswer:
    """One person: their record, the areas they answered for and when, their rota, their trail."""
    who = signed_in()
    with database().session() as session:
        try:
            person = people.get_worker(session, who, code)
            week = rosters.week(session, who, code)
            days = rosters.days_of(session, who, code, _today(), _today() + timedelta(days=31))
        except GridopsError as err:
            return _failed("admin/person.html", who, err, person=None)
        ctx = use_case_context()
        trail = [*visible_changes(session, ctx, who, ChangeQuery(kind=people.KIND_WORKER, key=code)),
                 *visible_changes(session, ctx, who, ChangeQuery(kind=rosters.KIND, key=code)),
                 *visible_changes(session, ctx, who, ChangeQuery(kind=shift_passes.KIND, key=code))]
        for a in person["assignments"]:
            trail += visible_changes(session, ctx, who, ChangeQuery(kind=people.KIND_ASSIGNMENT, key=str(a["id"])))
        trail.sort(key=lambda r: r["id"], reverse=True)
        by_day = [(k, WEEKDAYS[k], [w for w in week if w["weekday"] == k]) for k in range(7)]
        return _page("admin/person.html", who, person=person, week=by_day, days=days, trail=trail,
                     names=_names(session, (a["area"] for a in person["assignments"])),
                     duties=people.DUTIES, roles=_roles_for(who), today=_today())


def _roles_for(who: Principal) -> list[tuple[str, str, str]]:
    """The roles this user may give (a community admin: the community's own)."""
    codes = people.WORKER_ROLES if who.is_staff else people.LOCAL_ROLES
    return [(c, *people.WORKER_ROLES[c]) for c in codes]


@pages.get("/admin/calendar")
def admin_calendar() -> PageAnswer:
    """A year's holidays and make-up workdays; import next year's from the State Council's notice."""
    who = signed_in()
    raw = _arg("year")
    year = int(raw) if raw.isascii() and raw.isdecimal() and 1900 <= int(raw) <= 2999 else _today().year
    with database().session() as session:
        try:
            shown = calendars.days(session, who, year)
        except GridopsError as err:
            return _failed("admin/calendar.html", who, err, year=year, shown=None, years=[], missing_years=[])
        return _page("admin/calendar.html", who, year=year, shown=shown, years=sorted({*calendars.years(session), year, year + 1}),
                     missing_years=calendars.missing_years(session), kinds=calendars.KIND_NAMES)


@pages.get("/admin/categories")
def admin_categories() -> PageAnswer:
    """The categories with their urgency, time limit, handler and flags; a limit changed applies to new reports."""
    who = signed_in()
    with database().session() as session:
        found = categories.list_categories(session)
        groups = categories.list_groups(session)
        departments = session.execute(select(Department.code, Department.name).order_by(Department.code)).all()
        ref = current_app.extensions["gridops.references"].current(session)
        day_of = {c["code"]: workday_minutes(ref.hours_for(cat)) for c in found if (cat := ref.category(c["code"])) is not None}
    by_group: dict[str | None, list[dict[str, Any]]] = {}
    for c in found:
        by_group.setdefault(c["group_code"], []).append(c)
    blocks = [(g, by_group.get(g["code"], [])) for g in groups] + ([(None, by_group[None])] if None in by_group else [])
    return _page("admin/categories.html", who, categories=found, blocks=blocks, groups=groups, day_of=day_of,
                 urgencies=categories.URGENCIES, handlers=categories.HANDLERS, departments=departments,
                 department_names=dict(departments), selected=_arg("code"))


@pages.get("/admin/buildings")
def admin_buildings() -> PageAnswer:
    """Find a building by code, name, address or 小区; add one; the households in bulk."""
    who = signed_in()
    q = buildings.BuildingQuery(text=_arg("q") or None, area=_arg("area") or None, demolished=_arg("demolished") == "1",
                                limit=200)
    with database().session() as session:
        try:
            found = buildings.list_buildings(session, use_case_context(), who, q)
        except GridopsError as err:
            return _failed("admin/buildings.html", who, err, q=q, buildings=[], names={}, uses=buildings.USES)
        return _page("admin/buildings.html", who, q=q, buildings=found, names=_names(session, (b["grid"] for b in found if b["grid"])),
                     uses=buildings.USES)


@pages.get("/admin/buildings/<code>")
def admin_building(code: str) -> PageAnswer:
    """One building: its facts, its grid, its households by door code, its trail."""
    who = signed_in()
    ctx = use_case_context()
    with database().session() as session:
        try:
            building = buildings.get_building(session, ctx, code)
        except GridopsError as err:
            return _failed("admin/building.html", who, err, building=None)
        mine = who.policy.measures == "all" or who.covers(building["grid"])
        trail = visible_changes(session, ctx, who, ChangeQuery(kind=buildings.KIND, key=code)) if mine else []
        return _page("admin/building.html", who, building=building, households=households.of_building(session, code) if mine else [],
                     names=_names(session, [building["grid"]] if building["grid"] else []), trail=trail, mine=mine,
                     uses=buildings.USES)


@pages.get("/admin/registers")
def admin_registers() -> PageAnswer:
    """The people visited on one's ground (独居老人, 残疾人, 低保户 …): who, at which door, how often, the next visit;
    the registers in bulk."""
    who = signed_in()
    area = _arg("area") or None
    with database().session() as session:
        try:
            found = visits.list_entries(session, use_case_context(), who, area)
        except GridopsError as err:
            return _failed("admin/registers.html", who, err, area=area or "", entries=[], names={}, shown=SHOWN_ENTRIES,
                           today=_today().isoformat())
        return _page("admin/registers.html", who, area=area or "", entries=found[:SHOWN_ENTRIES], total=len(found),
                     names=_names(session, {r["grid"] for r in found[:SHOWN_ENTRIES] if r["grid"]}), shown=SHOWN_ENTRIES,
                     today=_today().isoformat())


@pages.get("/admin/audit")
def admin_audit() -> PageAnswer:
    """The trail of reference data: every change, who made it, before and after; of one object or one kind."""
    who = signed_in()
    kind, key = _arg("kind") or None, _arg("key") or None
    before = _arg("before")
    q = ChangeQuery(kind=kind, key=key, limit=100,
                    before_id=int(before) if before.isascii() and before.isdecimal() and len(before) <= 18 else None)
    with database().session() as session:
        rows, older = visible_page(session, use_case_context(), who, q)
    return _page("admin/audit.html", who, rows=rows, kind=kind or "", key=key or "",
                 kinds=tuple(KINDS),
                 older=older)


@pages.get("/admin/messages")
def admin_messages() -> PageAnswer:
    """What became of the messages (the failed first, with the reason and a retry), their wordings, the channels'
    settings and the group robots: the command centre reads, an admin keeps."""
    who = signed_in()
    raw_incident = _arg("incident")
    q = MessageQuery(status=_arg("status") if _arg("status") in STATUSES else None,
                     channel=_arg("channel") if _arg("channel") in CHANNELS else None,
                     kind=_arg("kind") if _arg("kind") in MESSAGE_KINDS else None,
                     incident=int(raw_incident) if raw_incident.isascii() and raw_incident.isdecimal() and len(raw_incident) <= 18
                     else None, limit=100)
    editing = _arg("template") if _arg("template") in MESSAGE_KINDS else None
    with database().session() as session:
        failed = messaging.message_list(session, who, MessageQuery(status="failed", limit=50))
        shown = messaging.message_list(session, who, q)
        catalogue = messaging.templates(session, who)
        channel_settings = messaging.settings(session, who, current_app.config)
        robots = messaging.robots(session, who)
        names = _names(session, {r["area_code"] for r in robots if r["area_code"]})
    return _page("admin/messages.html", who, q=q, failed=failed["messages"], shown=shown, counts=shown["counts"],
                 catalogue=catalogue, editing=next((k for k in catalogue if k["kind"] == editing), None),
                 settings=channel_settings["settings"], configured=channel_settings["channels"], robots=robots, names=names,
                 statuses=STATUSES, channels=CHANNELS, kinds=MESSAGE_KINDS, langs=LANGS,
                 robot_channels=("wecom_robot", "dingtalk"))


def _today() -> date:
    return clock.today(current_app.config["TIMEZONE"])
