"""Who may do what: every role, the ground it sees, and what it may do — in one table.

The API, the pages, the CLI and the tests all read `ROLES`; no other module
lists roles. A role has

- `sees`: which incidents it may read (all; the ground it answers for; its
  department's; the reports it made; none but the work handed to it);
- `contacts`: whose phone numbers it reads unmasked (all; the ground it answers
  for; only the incidents it handles or reported);
- `measures`: whose measures (gridops.analytics.stats) it reads: all, its ground, none;
- `may`: the permissions below;
- `worker`: the worker record a user of this role stands for (their worker role
  and their duty on the areas they are given), if they take work.

Whoever holds an incident (its assignee) may also see it and take the steps the
loop gives to the assignee, whatever their role (gridops.incidents.loop).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from gridops.core.errors import GridopsError
from gridops.core.words import Say, Term

# what a role sees
ALL, GROUND, DEPARTMENT, OWN, NONE = "all", "ground", "department", "own", "none"
# whose contacts a role reads unmasked (ALL, GROUND or OWN: the ones it handles or reported)

# permissions
LEAD = "lead"  # accept, assess, dispatch, reassign, verify, return, close, escalate, merge, split (in its ground)
SUPERVISE = "supervise"  # 督办
RATE = "rate"  # 回访: record the resident's rating
FOLLOW_UP = "follow_up"  # 回访 by telephone: call the resident after the close, record reached or not, their rating and words
COMMENT = "comment"
ACT_ON_MAP = "act_on_map"  # reassign and escalate from the live map
WATCH = "watch"  # the command centre's maps and the measures (/map, /maps/risk, /dashboard, /api/v1/stats)
SEE_WORKERS = "see_workers"  # where workers are
READ_REGISTERS = "read_registers"  # patrol registers (走访) with phone numbers
KEEP_REGISTERS = "keep_registers"  # add people to the registers, record visits on the ground
SEE_ID_NUMBERS = "see_id_numbers"  # 身份证号 unmasked
PLAN = "plan"  # draw, edit, publish grid plans
READ_PLANS = "read_plans"
OVERRIDE = "override"  # verify or close one's own resolution, saying why (the event records the override)
READ_PEOPLE = "read_people"  # the people register: workers, their assignments and shifts, the audit trail of reference data
KEEP_PEOPLE = "keep_people"  # add, change, deactivate workers; assign them to areas (in its ground); their shifts and leave
KEEP_CITY = "keep_city"  # the city's own rules: holiday calendars, categories and their time limits
KEEP_BUILDINGS = "keep_buildings"  # add, change, demolish buildings and their household counts (in its ground)
READ_MESSAGES = "read_messages"  # every message sent and what became of it (queued, sent, delivered, failed with the reason)
RESEND = "resend"  # send a failed message again
KEEP_MESSAGES = "keep_messages"  # the messages' wordings, channel settings and group robots; send a test message

PERMISSIONS = (LEAD, SUPERVISE, RATE, COMMENT, ACT_ON_MAP, WATCH, SEE_WORKERS, READ_REGISTERS, KEEP_REGISTERS,
               SEE_ID_NUMBERS, PLAN, READ_PLANS, OVERRIDE, READ_PEOPLE, KEEP_PEOPLE, KEEP_CITY, KEEP_BUILDINGS,
               READ_MESSAGES, RESEND, KEEP_MESSAGES, FOLLOW_UP)


@dataclass(frozen=True)
class Role:
    code: str
    name: str  # as the pages show it (zh-CN)
    name_en: str
    sees: str
    contacts: str
    measures: str
    may: frozenset[str]
    worker: tuple[str, str] | None = None  # (worker role, duty) for a user who takes work

    def can(self, permission: str) -> bool:
        return permission in self.may


# the command centre reads the registers and the messages' deliveries (and sends a failed one again); admins keep them
_STAFF = frozenset(PERMISSIONS) - {PLAN, OVERRIDE, KEEP_PEOPLE, KEEP_CITY, KEEP_BUILDINGS, KEEP_MESSAGES}
ROLES: dict[str, Role] = {r.code: r for r in (
    Role("resident", "居民", "resident", OWN, OWN, NONE, frozenset({RATE, COMMENT})),
    Role("grid_worker", "网格员", "grid worker", GROUND, OWN, NONE, frozenset({COMMENT, READ_REGISTERS}),
         worker=("grid_worker", "primary")),
    Role("grid_leader", "网格长", "grid leader", GROUND, GROUND, GROUND,
         frozenset({LEAD, COMMENT, ACT_ON_MAP, WATCH, SEE_WORKERS, READ_REGISTERS, KEEP_REGISTERS, READ_PEOPLE}),
         worker=("grid_leader", "leader")),
    Role("community_admin", "社区管理员", "community admin", GROUND, GROUND, GROUND,
         frozenset({LEAD, COMMENT, ACT_ON_MAP, WATCH, SEE_WORKERS, READ_REGISTERS, KEEP_REGISTERS, SEE_ID_NUMBERS, READ_PLANS,
                    READ_PEOPLE, KEEP_PEOPLE, KEEP_BUILDINGS, FOLLOW_UP}),
         worker=("community_staff", "primary")),
    Role("department", "职能部门", "department", DEPARTMENT, OWN, NONE, frozenset({COMMENT}), worker=("department_staff", "primary")),
    Role("command_centre", "指挥中心", "command centre", ALL, ALL, ALL, _STAFF),
    Role("planner", "网格规划员", "planner", NONE, OWN, ALL, frozenset({WATCH, PLAN, READ_PLANS, READ_PEOPLE, KEEP_BUILDINGS})),
    Role("admin", "系统管理员", "admin", ALL, ALL, ALL, frozenset(PERMISSIONS)),
)}
ROLE_CODES = tuple(ROLES)


class Unauthorized(GridopsError):
    slug = "unauthorized"


class Forbidden(GridopsError):
    slug = "forbidden"


def role(code: str) -> Role:
    found = ROLES.get(code)
    if found is None:
        raise Forbidden(Say("no role %(code)r; roles: %(roles)s.", code=code, roles=', '.join(ROLES)))
    return found


def role_term(code: str) -> Term:
    """A role as a sentence names it, in the reader's language (居民, 网格员 … / resident, grid worker …)."""
    r = ROLES.get(code)
    return Term(r.name_en, r.name) if r is not None else Term(code)


def role_terms(codes: Iterable[str]) -> list[Term]:
    return [role_term(c) for c in codes]


def roles_with(permission: str) -> tuple[str, ...]:
    """The roles that hold a permission, in the table's order (for messages and the API's documentation)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"no permission {permission!r}")
    return tuple(r.code for r in ROLES.values() if permission in r.may)


@dataclass(frozen=True)
class Principal:
    """The user behind a request, with what a permission check needs."""

    user_id: int
    name: str
    role: str
    worker_id: int | None = None
    department_code: str | None = None
    areas: tuple[str, ...] = ()

    @property
    def policy(self) -> Role:
        return role(self.role)

    @property
    def is_staff(self) -> bool:
        """Staff (the command centre, admins) see the whole city."""
        return self.policy.sees == ALL

    def can(self, permission: str) -> bool:
        return self.policy.can(permission)

    def covers(self, area_code: str | None) -> bool:
        """Does this user answer for the area (or an area above it)? Codes are hierarchical."""
        if not area_code:
            return False
        return any(area_code.startswith(a) for a in self.areas)


def require_permission(who: Principal, permission: str) -> None:
    """Refuse, naming the roles that may, unless `who` holds the permission."""
    if not who.can(permission):
        raise Forbidden(Say("a %(role)s may not do this; it needs one of: %(value)s.",
                            role=role_term(who.role), value=role_terms(roles_with(permission))))


class IncidentFacts(Protocol):
    """What visibility depends on (an Incident row has these)."""

    assignee_id: int | None
    reporter_user_id: int | None
    department_code: str | None


def handles(principal: Principal, incident: IncidentFacts) -> bool:
    return principal.worker_id is not None and incident.assignee_id == principal.worker_id


def can_see(principal: Principal | None, incident: IncidentFacts, grid_code: str | None, *, joined: bool = False) -> bool:
    """Staff see everything; a worker the ground they answer for and their own work; a department its
    incidents; a resident their own reports, and the incidents their reports were merged into
    (`joined`: they follow it to the end and may rate it)."""
    if principal is None:
        return False
    sees = principal.policy.sees
    if sees == ALL:
        return True
    if sees == OWN:
        return incident.reporter_user_id == principal.user_id or joined
    if handles(principal, incident):
        return True
    if sees == DEPARTMENT:
        return incident.department_code is not None and incident.department_code == principal.department_code
    return sees == GROUND and principal.covers(grid_code)


def sees_contacts(principal: Principal, incident: IncidentFacts, grid_code: str | None) -> bool:
    """Phone numbers are for those who must call back: staff, the assignee, the leaders of the ground, the reporter."""
    contacts = principal.policy.contacts
    if contacts == ALL or handles(principal, incident):
        return True
    if contacts == GROUND and principal.covers(grid_code):
        return True
    return principal.policy.sees == OWN and incident.reporter_user_id == principal.user_id


def covers_any(principal: Principal, codes: Iterable[str]) -> bool:
    return any(principal.covers(c) for c in codes)


# --- who may call each route -----------------------------------------------------------------------------
# Besides the permissions above, a route may be open to:
ANYONE = "anyone"  # no sign-in (the public ground: areas, Open311's public view, signing in)
SIGNED_IN = "signed_in"  # any user; what they get is scoped by their role's `sees`
MEASURES = "measures"  # a role whose `measures` is not NONE
WORKS = "works"  # a role that takes work (its users stand for a worker)


@dataclass(frozen=True)
class RouteAccess:
    """Who may call a route, and what they then get. `confirmed_later`: the route may go on a token this
    process remembers, because its use case confirms the user again in its own transaction (intake)."""

    who: str
    gets: str
    confirmed_later: bool = False

    def admits(self, role_code: str | None) -> bool:
        if self.who == ANYONE:
            return True
        if role_code is None:
            return False
        r = role(role_code)
        if self.who == SIGNED_IN:
            return True
        if self.who == MEASURES:
            return r.measures != NONE
        if self.who == WORKS:
            return r.worker is not None
        return r.can(self.who)

    def roles(self) -> tuple[str, ...]:
        return tuple(code for code in ROLES if self.admits(code))


def _a(who: str, gets: str, confirmed_later: bool = False) -> RouteAccess:
    if who not in (ANYONE, SIGNED_IN, MEASURES, WORKS) and who not in PERMISSIONS:
        raise ValueError(f"no permission {who!r}")
    return RouteAccess(who, gets, confirmed_later)


# endpoint (blueprint.function) -> access. The app refuses to start with a route missing here
# (gridops.web.guard), and tests/web/test_route_policy.py calls every route as every role.
ROUTES: dict[str, RouteAccess] = {
    # pages
    "pages.index": _a(ANYONE, "the landing page: what each page is for"),
    "pages.login": _a(ANYONE, "the sign-in form"),
    "pages.logout": _a(ANYONE, "ends the page session"),
    "pages.login_shift": _a(ANYONE, "signing a phone in for one shift with the QR code an admin showed (once, within minutes)"),
    "pages.login_phone": _a(ANYONE, "signing in with a code sent by SMS (a worker on a phone), limited per number and address"),
    "pages.problem_type": _a(ANYONE, "what an error kind means"),
    "pages.worker": _a(WORKS, "the phone page: one's own tasks"),
    "pages.worker_manifest": _a(ANYONE, "the worker page's web app manifest (its name and icons; a browser fetches it without a session)"),
    "pages.worker_service_worker": _a(ANYONE, "the worker page's service worker script (no data in it: what it keeps, it fetches "
                                              "with the worker's own session)"),
    "pages.live_map_page": _a(WATCH, "the live map of the ground one sees"),
    "pages.risk_page": _a(WATCH, "the hidden-risk maps of the ground one sees"),
    "pages.dashboard": _a(WATCH, "the measures of the ground one sees"),
    "pages.screen": _a(WATCH, "the big screen (大屏) of the ground one sees: whoever may see the measures"),
    "pages.plan_page": _a(PLAN, "the planning page"),
    "pages.admin_home": _a(READ_PEOPLE, "the registers: what needs doing on the ground one sees"),
    "pages.admin_people": _a(READ_PEOPLE, "the people of the ground one sees; adding one (to keepers)"),
    "pages.admin_person": _a(READ_PEOPLE, "one person, their areas, rota and trail; changing them (to keepers)"),
    "pages.admin_calendar": _a(READ_PEOPLE, "the holiday calendar; importing and editing it (to keepers of the city's rules)"),
    "pages.admin_categories": _a(READ_PEOPLE, "the categories and their limits; editing them (to keepers of the city's rules)"),
    "pages.admin_buildings": _a(READ_PEOPLE, "the buildings of the ground one sees; households in bulk"),
    "pages.admin_building": _a(READ_PEOPLE, "one building, its households and trail; changing it (to keepers)"),
    "pages.admin_audit": _a(READ_PEOPLE, "the audit trail of reference data on the ground one sees"),
    # the resident's pages a door's QR label opens (码上服务): anonymous by design, the report form rate limited per address
    "pages.resident_door": _a(ANYONE, "where the label is (building, 单元, room) and the form; nothing of who lives there"),
    "pages.resident_report": _a(ANYONE, "reports an incident from a door's label (channel qr), anonymously"),
    "pages.resident_follow": _a(ANYONE, "a report's progress, to whoever holds its follow-up token"),
    "pages.my_messages": _a(SIGNED_IN, "one's own messages and how one is reached"),
    "pages.resident_phone": _a(ANYONE, "a resident signs in on the door's page with a code sent by SMS, limited per number and address"),
    "pages.resident_follow_answer": _a(ANYONE, "the reporter's rating or \"not fixed\" of a closed report, to whoever holds its token"),
    "pages.admin_registers": _a(READ_REGISTERS, "the visit registers of one's ground; in bulk (to keepers)"),
    "pages.admin_messages": _a(READ_MESSAGES, "what became of every message; wordings, channel settings, robots (to keepers)"),
    "static": _a(ANYONE, "scripts, styles, icons"),
    "swagger_assets.swagger_asset": _a(ANYONE, "Swagger UI's files"),
    "api-docs.openapi_json": _a(ANYONE, "the OpenAPI document"),
    "api-docs.openapi_swagger_ui": _a(ANYONE, "the API's documentation page"),
    "health.healthz": _a(ANYONE, "whether the service can work (details for admins)"),
    # signing in by phone (gridops.access.otp): anyone, limited per number and per address
    "basemap.tile": _a(ANYONE, "the city's streets and building outlines as map tiles (no one's address or household)"),
    "tiles.archive_tile": _a(ANYONE, "a tile of the configured base-map archive (GRIDOPS_TILES)"),
    "tiles.archive_file": _a(ANYONE, "the base-map archive file itself, by ranges"),
    "auth.phone_code": _a(ANYONE, "sends a sign-in code by SMS to any mobile number (never says whether it has an account)"),
    "auth.phone_verify": _a(ANYONE, "a right code starts a page session: the number's worker or staff user, else its resident"),
    # the public map
    "areas.areas": _a(ANYONE, "areas and their boundaries (no people)"),
    "areas.area": _a(ANYONE, "one area and its boundary"),
    "locate.locate_one": _a(ANYONE, "the areas a place lies in"),
    "locate.locate_many": _a(SIGNED_IN, "the areas of up to 100,000 places"),
    # boundaries: planners publish; staff read
    "boundaries.publish_upload": _a(PLAN, "publishes a boundary version"),
    "boundaries.check_upload": _a(PLAN, "checks a boundary file; nothing stored"),
    "boundaries.versions": _a(READ_PLANS, "every boundary version"),
    "boundaries.export_file": _a(READ_PLANS, "a version as a file"),
    "boundaries.layer_misfit": _a(READ_PLANS, "how two layers' boundaries split each other"),
    # incidents and the loop
    "incidents.create": _a(SIGNED_IN, "reports an incident", confirmed_later=True),
    "incidents.list_incidents": _a(SIGNED_IN, "the incidents one's role sees (a resident: their own)"),
    "incidents.get_one": _a(SIGNED_IN, "one incident one sees, contacts masked unless one must call back"),
    "incidents.get_history": _a(SIGNED_IN, "the steps of an incident one sees"),
    "incidents.photo": _a(SIGNED_IN, "a photo of an incident one sees (as sent, EXIF and all: the evidence)"),
    "incidents.photo_thumbnail": _a(SIGNED_IN, "a photo's thumbnail, of an incident one sees"),
    "incidents.flags": _a(LEAD, "resolutions whose photos do not fit their incident, on the ground one sees (虚假办结)"),
    "incidents.step": _a(SIGNED_IN, "a step the loop gives one's role on an incident one sees"),
    "incidents.workers": _a(SEE_WORKERS, "workers on the ground one sees"),
    "incidents.my_tasks": _a(WORKS, "one's own tasks"),
    # patrols (走访)
    "patrols.list_registers": _a(READ_REGISTERS, "the registers of one's ground, ID numbers masked unless allowed"),
    "patrols.create_register": _a(KEEP_REGISTERS, "registers someone on one's ground"),
    "patrols.visit": _a(WORKS, "records one's own patrol visit"),
    "patrols.change_register": _a(KEEP_REGISTERS, "changes an entry's interval or contact on one's ground"),
    "patrols.move_register": _a(KEEP_REGISTERS, "moves an entry to another door of one's ground"),
    "patrols.pause_register": _a(KEEP_REGISTERS, "pauses an entry's visits until a day"),
    "patrols.resume_register": _a(KEEP_REGISTERS, "resumes a paused entry's visits"),
    "patrols.end_register": _a(KEEP_REGISTERS, "ends an entry (its open visit is cancelled)"),
    "patrols.registers_import": _a(KEEP_REGISTERS, "register entries of one's ground from a file, all or nothing"),
    "patrols.registers_export": _a(READ_REGISTERS, "the register entries of one's ground as a file, ID numbers masked unless allowed"),
    # plans
    "plans.drafts": _a(READ_PLANS, "the drafts"),
    "plans.show": _a(READ_PLANS, "a draft and its checks"),
    "plans.geojson": _a(READ_PLANS, "a draft's areas"),
    "plans.create": _a(PLAN, "starts a draft"),
    "plans.edit": _a(PLAN, "edits a draft"),
    "plans.publish": _a(PLAN, "publishes a draft as a boundary version"),
    "plans.discard": _a(PLAN, "discards a draft"),
    # reference data kept live (gridops.registers): the command centre and planners read, admins keep
    "registers.list_people": _a(READ_PEOPLE, "workers and staff: all, or those of one's ground"),
    "registers.create_person": _a(KEEP_PEOPLE, "adds a worker (a community admin: grid workers and leaders)"),
    "registers.get_person": _a(READ_PEOPLE, "one worker and every assignment they held"),
    "registers.change_person": _a(KEEP_PEOPLE, "changes a worker of one's ground"),
    "registers.deactivate_person": _a(KEEP_PEOPLE, "a worker leaves; their open work is handed on"),
    "registers.make_shift_pass": _a(KEEP_PEOPLE, "a QR code signing the worker's phone in for their shift (their ground)"),
    "registers.revoke_shift_passes": _a(KEEP_PEOPLE, "the worker's QR sign-ins ended, their phones signed out"),
    "registers.create_assignment": _a(KEEP_PEOPLE, "makes a worker answer for an area of one's ground from a date"),
    "registers.get_shifts": _a(READ_PEOPLE, "a worker's weekly rota"),
    "registers.set_shifts": _a(KEEP_PEOPLE, "sets the weekly rota of a worker of one's ground"),
    "registers.get_days": _a(READ_PEOPLE, "the days a worker's rota differs from their week (leave, swaps, a day's own)"),
    "registers.set_day": _a(KEEP_PEOPLE, "gives a worker of one's ground a day's own windows (or a day off)"),
    "registers.clear_day": _a(KEEP_PEOPLE, "a worker's day follows their week again"),
    "registers.take_leave": _a(KEEP_PEOPLE, "records leave (请假) of a worker of one's ground"),
    "registers.swap_day": _a(KEEP_PEOPLE, "two workers of one's ground swap a day (换班)"),
    "registers.list_departments": _a(READ_PEOPLE, "the departments and their office hours"),
    "registers.change_department": _a(KEEP_CITY, "sets a department's own office hours"),
    "registers.end_assignment": _a(KEEP_PEOPLE, "ends an assignment on one's ground"),
    "registers.answered": _a(READ_PEOPLE, "who answered for an area at a moment"),
    "registers.people_import": _a(KEEP_PEOPLE, "workers of one's ground from a file, all or nothing"),
    "registers.people_export": _a(READ_PEOPLE, "the people one sees as a file"),
    "registers.assignments_import": _a(KEEP_PEOPLE, "assignments on one's ground from a file, all or nothing"),
    "registers.assignments_export": _a(READ_PEOPLE, "the assignments not yet ended on one's ground as a file"),
    "registers.calendar_year": _a(READ_PEOPLE, "a year's holidays and make-up workdays"),
    "registers.calendar_import": _a(KEEP_CITY, "imports holidays and make-up workdays from a file"),
    "registers.calendar_export": _a(READ_PEOPLE, "the holiday calendar as a file"),
    "registers.calendar_set": _a(KEEP_CITY, "sets one day of the calendar"),
    "registers.calendar_clear": _a(KEEP_CITY, "clears one day of the calendar"),
    "registers.list_categories": _a(SIGNED_IN, "the categories with their limits and handlers"),
    "registers.create_category": _a(KEEP_CITY, "adds a category"),
    "registers.change_category": _a(KEEP_CITY, "changes a category (new reports get its new limits)"),
    "registers.categories_import": _a(KEEP_CITY, "imports an event taxonomy (classes and categories) from a file"),
    "registers.categories_export": _a(SIGNED_IN, "the classes and categories as a file"),
    "registers.list_groups": _a(SIGNED_IN, "the classes (大类) of the categories"),
    "registers.set_group": _a(KEEP_CITY, "adds or renames a class"),
    "registers.remove_group": _a(KEEP_CITY, "removes a class no category belongs to"),
    "registers.get_building": _a(SIGNED_IN, "a building, its households and its grid"),
    "registers.create_building": _a(KEEP_BUILDINGS, "adds a building on one's ground"),
    "registers.change_building": _a(KEEP_BUILDINGS, "changes a building on one's ground (its grid's households follow)"),
    "registers.demolish_building": _a(KEEP_BUILDINGS, "demolishes a building on one's ground"),
    "registers.building_labels": _a(KEEP_BUILDINGS, "a building's QR door labels to print (PDF, PNG), on one's ground"),
    "registers.buildings_import": _a(KEEP_BUILDINGS, "buildings of one's ground from a file, all or nothing (grids' counts follow)"),
    "registers.buildings_export": _a(READ_PEOPLE, "the buildings of one's ground as a file"),
    "registers.households_import": _a(KEEP_BUILDINGS, "imports households (door codes) of one's ground from a file"),
    "registers.households_export": _a(READ_PEOPLE, "the households as a file"),
    "registers.audit": _a(READ_PEOPLE, "the audit trail of reference data"),
    # messages (gridops.messages): the command centre reads what became of them, admins keep how they are sent
    "messages.list_messages": _a(READ_MESSAGES, "notifications with their copies and each copy's status, counted"),
    "messages.retry": _a(RESEND, "queues a failed copy again"),
    "messages.incident_messages": _a(READ_MESSAGES, "the messages an incident caused and what became of them"),
    "messages.receipts": _a(ANYONE, "a gateway's delivery receipts, taken only with the shared token (SMS_RECEIPT_TOKEN)"),
    "messages.list_templates": _a(READ_MESSAGES, "every kind of message, its fields, built-in and custom wording"),
    "messages.set_template": _a(KEEP_MESSAGES, "rewords a kind of message in a language"),
    "messages.reset_template": _a(KEEP_MESSAGES, "a kind of message back to its built-in wording"),
    "messages.preview_template": _a(READ_MESSAGES, "a wording rendered with sample data; nothing stored"),
    "messages.list_settings": _a(READ_MESSAGES, "the channels' settings and where each comes from; secrets never"),
    "messages.change_settings": _a(KEEP_MESSAGES, "sets or unsets channel settings on the page"),
    "messages.send_test": _a(KEEP_MESSAGES, "sends a test message through the outbox to an address one gives"),
    "messages.list_robots": _a(READ_MESSAGES, "the group robots (企业微信, 钉钉), their webhooks masked, secrets never"),
    "messages.create_robot": _a(KEEP_MESSAGES, "adds a group robot"),
    "messages.change_robot": _a(KEEP_MESSAGES, "changes a group robot"),
    "messages.delete_robot": _a(KEEP_MESSAGES, "removes a group robot"),
    # measures and the live feed
    "stats.measures": _a(MEASURES, "the measures of the areas one answers for"),
    "risk.risk": _a(WATCH, "the hidden-risk figures (cells, grids, named hot spots) the risk map draws"),
    "risk.order_patrols": _a(LEAD, "patrols ordered over a hot spot (派发巡查): a visit task for each micro-grid's worker, "
                                   "on the ground one leads"),
    "stats.live_now": _a(MEASURES, "what the big screen shows now, of the areas one answers for"),
    "stream.live": _a(SIGNED_IN, "live changes to what one sees"),
    # one's own messages and how one is reached (gridops.messages): anyone signed in, of their own only
    "inbox.notifications": _a(SIGNED_IN, "one's own messages, unread first, with what became of each copy"),
    "inbox.read_one": _a(SIGNED_IN, "marks one of one's own messages read"),
    "inbox.read_all": _a(SIGNED_IN, "marks one's own messages read"),
    "inbox.contact": _a(SIGNED_IN, "how one is reached: channels, quiet hours, language"),
    "inbox.change_contact": _a(SIGNED_IN, "sets how one is reached"),
    # Open311 (GeoReport v2): the public view, or with an api_key what the key's role sees
    "open311.discovery": _a(ANYONE, "the endpoint and its formats"),
    "open311.service_list": _a(ANYONE, "the services (categories)"),
    "open311.service_definition": _a(ANYONE, "a service's definition"),
    "open311.request_list": _a(ANYONE, "anonymous: public categories, places rounded, no text of sensitive ones; "
                                       "with api_key: what its role sees"),
    "open311.request_one": _a(ANYONE, "as request_list, one request"),
    "open311.token": _a(ANYONE, "the request id of a token"),
    "open311.request_create": _a(SIGNED_IN, "reports an incident (api_key)", confirmed_later=True),
}


def refuse_route(who: Principal, access: RouteAccess) -> Forbidden:
    """The refusal for a user whose role a route does not admit, naming the roles it does."""
    return Forbidden(Say("a %(role)s may not do this; it is for: %(roles)s.", role=role_term(who.role),
                         roles=role_terms(access.roles())))
