"""The closed loop (闭环): the statuses, the steps between them, and who may take each.

reported 上报 → accepted 受理 → assessed 研判 → dispatched 派遣 → in_progress 处置
→ resolved 反馈 → verified 核查 → closed 结案 → followed_up 回访, with returned
(sent back for rework), reopened (the resident says it is not fixed: 返工),
escalated (one tier up the ladder) and merged (a duplicate) beside it. Nobody
verifies or closes what they resolved themselves (核查 is someone else's eyes). This module is the one home of those rules: plain data and
pure functions, so the API, the pages, the sweeper, the demo city and the tests
read the same table (gridops.incidents.steps carries a step out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from gridops.access.policy import (
    COMMENT,
    FOLLOW_UP,
    LEAD,
    RATE,
    ROLES,
    SUPERVISE,
    IncidentFacts,
    Principal,
    can_see,
    handles,
    roles_with,
)
from gridops.core.words import Say, Term
from gridops.incidents import names

# status -> its name on the pages in Chinese (both languages: gridops.incidents.names, the one table)
STATUS_NAMES: dict[str, str] = {code: term.zh or str(term) for code, term in names.STATUS_NAMES.items()}
STATUSES = tuple(STATUS_NAMES)
# someone's open work
OPEN = ("reported", "accepted", "assessed", "dispatched", "in_progress", "resolved", "returned", "reopened", "verified",
        "escalated")
# the loop is over (a merged report lives on in the incident it joined)
CLOSED = ("closed", "followed_up", "merged")
# closed by the people who handled it (the measures count these)
DONE = ("closed", "followed_up")
# still being handled: the handling is not done (resolved and verified wait for the verifier and the close)
HANDLING = ("reported", "accepted", "assessed", "dispatched", "in_progress", "returned", "reopened", "escalated")
# the escalation ladder ("小事不出网格、大事不出社区、矛盾不上交")
LADDER = ("grid", "grid_leader", "community", "street", "district")
# a task (a unit of someone's work: an incident to handle, a visit) that is still to be done
TASK_ACTIVE = ("open", "accepted")

_BEFORE_WORK = ("reported", "accepted", "assessed", "dispatched", "escalated")
# sent back to the one who handled it, to be done again
_REWORK = ("returned", "reopened")
# a rating of 1 or 2 reopens the incident instead of ending the loop (返工)
REOPENING_RATINGS = (1, 2)


@dataclass(frozen=True)
class Step:
    action: str
    sources: tuple[str, ...]  # the statuses it may be taken from
    target: str | None  # None: the status stays
    permission: str | None  # the permission (gridops.access.policy) that lets a role take it, in its ground
    assignee: bool = False  # the incident's assignee may, whatever their role
    needs_note: bool = False

    @property
    def name(self) -> str:
        """As the pages show it in Chinese (gridops.incidents.names has both languages)."""
        return names.name(names.STEP_NAMES, self.action, names.ZH)

    @property
    def term(self) -> Term:
        """Its name in a sentence said in the reader's language."""
        return names.STEP_NAMES.get(self.action, Term(self.action))


STEPS: dict[str, Step] = {s.action: s for s in (
    Step("accept", ("reported",), "accepted", LEAD, assignee=True),
    Step("assess", ("accepted",), "assessed", LEAD, assignee=True),
    Step("dispatch", ("assessed", "escalated"), "dispatched", LEAD),
    # a worker takes the task: one event saying so, with the steps nobody took named in it
    Step("take", ("reported", "accepted", "assessed", "escalated"), "dispatched", None, assignee=True),
    Step("reassign", ("reported", "accepted", "assessed", "dispatched", "in_progress", *_REWORK, "escalated"), None, LEAD),
    Step("reject", _BEFORE_WORK, None, None, assignee=True, needs_note=True),
    Step("check_in", ("dispatched", *_REWORK), "in_progress", None, assignee=True),
    Step("resolve", ("in_progress",), "resolved", None, assignee=True, needs_note=True),
    Step("verify", ("resolved",), "verified", LEAD),
    Step("return", ("resolved",), "returned", LEAD, needs_note=True),
    Step("close", ("verified",), "closed", LEAD),
    Step("rate", ("closed",), "followed_up", RATE),  # 1 or 2: reopened instead
    # the command centre (or the community) calls the resident: not reached, the status stays closed (call again);
    # reached, their rating and words end the loop as `rate` does (1 or 2: reopened instead)
    Step("follow_up", ("closed",), "followed_up", FOLLOW_UP),
    # the resident says it is not fixed, within days of the close (gridops.incidents.context.Context.reopen_days)
    Step("not_fixed", ("closed", "followed_up"), "reopened", RATE, needs_note=True),
    # also from reported (nobody took it in time) and escalated (nobody took it at this tier either)
    Step("escalate", ("reported", "accepted", "assessed", "dispatched", "in_progress", *_REWORK, "escalated"),
         "escalated", LEAD, assignee=True, needs_note=True),
    Step("supervise", OPEN, None, SUPERVISE),
    Step("merge", ("reported", "accepted", "assessed"), "merged", LEAD),
    Step("split", ("merged",), "reported", LEAD),
    Step("comment", OPEN + CLOSED, None, COMMENT, assignee=True),
)}
ACTIONS = tuple(STEPS)
# the steps `take` stands in for, from each status (its one event names them as skipped)
TAKE_SKIPS = {"reported": ("accept", "assess", "dispatch"), "accepted": ("assess", "dispatch"), "assessed": ("dispatch",),
              "escalated": ("dispatch",)}
# the steps that need eyes other than the resolver's (configurable per category: Category.separate_verifier)
SEPARATE_FROM_RESOLVER = ("verify", "close")
# actions the history holds that no one takes by name: the report itself
RECORDED_ONLY = ("report",)


class Facts(IncidentFacts, Protocol):
    """What the loop reads of an incident (an Incident row has all of it)."""

    status: str


def may_take(step: Step, incident: Facts, principal: Principal | None, grid_code: str | None, *, joined: bool = False,
             resolved_by: int | None = None) -> bool:
    """Whether `principal` may take `step` on this incident (status aside). None is the system: the sweeper,
    duplicate detection, the demo city's own history. `joined`: the principal's own report was merged
    into this incident (they follow it). `resolved_by`: the worker who resolved it, when the category
    wants other eyes to verify and close (gridops.incidents.steps finds both)."""
    if principal is None:
        return True
    if step.action in SEPARATE_FROM_RESOLVER and resolved_by is not None and resolved_by == principal.worker_id:
        return False
    if step.assignee and handles(principal, incident):
        return True
    if step.permission is None or not principal.can(step.permission):
        return False
    return can_see(principal, incident, grid_code, joined=joined)


def allowed_steps(incident: Facts, principal: Principal | None, grid_code: str | None, *, joined: bool = False,
                  resolved_by: int | None = None) -> list[str]:
    """The steps this principal may take now, in the loop's order."""
    return [a for a, s in STEPS.items() if incident.status in s.sources
            and may_take(s, incident, principal, grid_code, joined=joined, resolved_by=resolved_by)]


def who_may(step: Step) -> Say | list[Term]:
    """Who a step is for, in words of the reader's language, for a refusal."""
    roles = roles_with(step.permission) if step.permission else ()
    if not roles:
        return Say("its assignee")
    said = [Term(ROLES[r].name_en, ROLES[r].name) if r in ROLES else Term(r) for r in roles]
    if step.assignee:
        return Say("%(roles)s (or its assignee)", roles=said)
    return said


def next_tier(tier: str) -> str | None:
    """One rung up the ladder, or None at the top."""
    current = tier if tier in LADDER else "grid"
    k = LADDER.index(current)
    return LADDER[k + 1] if k + 1 < len(LADDER) else None


def transitions() -> Iterable[tuple[str, str | None, str]]:
    """Every (from, to, action) the loop can write (to None: the status stays): what a history may contain."""
    for step in STEPS.values():
        for source in step.sources:
            yield source, step.target or source, step.action
    yield "closed", "reopened", "rate"  # a rating of 1 or 2
    yield "closed", "reopened", "follow_up"  # reached, and a rating of 1 or 2
    yield "closed", "closed", "follow_up"  # the resident was not reached: call again
