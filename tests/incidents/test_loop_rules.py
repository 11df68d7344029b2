"""The loop's rules on plain data, no database: which step may follow which status, and who may take it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gridops.access.policy import ROLES, Principal
from gridops.incidents.loop import (
    CLOSED,
    HANDLING,
    LADDER,
    OPEN,
    STATUSES,
    STEPS,
    TAKE_SKIPS,
    allowed_steps,
    may_take,
    next_tier,
    transitions,
)

GRID = "510199001002005"
OTHER_GRID = "510199002003001"


@dataclass
class Facts:
    status: str
    assignee_id: int | None = None
    reporter_user_id: int | None = None
    department_code: str | None = None


def who(role: str, *, worker: int | None = None, areas: tuple[str, ...] = (), user: int = 1, department: str | None = None) -> Principal:
    return Principal(user, role, role, worker, department, areas)


def test_every_status_is_open_or_closed_and_every_step_moves_between_known_statuses():
    assert set(OPEN) | set(CLOSED) == set(STATUSES) and not set(OPEN) & set(CLOSED)
    assert set(HANDLING) < set(OPEN)
    for step in STEPS.values():
        assert set(step.sources) <= set(STATUSES), step.action
        assert step.target is None or step.target in STATUSES, step.action
    for source, target, action in transitions():
        assert source in STATUSES and target in STATUSES and (action in STEPS), (source, target, action)


def test_take_is_one_step_to_dispatched_that_names_what_it_stands_for():
    assert STEPS["take"].target == "dispatched" and set(TAKE_SKIPS) == set(STEPS["take"].sources)
    assert TAKE_SKIPS["reported"] == ("accept", "assess", "dispatch") and TAKE_SKIPS["escalated"] == ("dispatch",)
    assert ("reported", "dispatched", "take") in set(transitions())
    assert ("reported", "accepted", "accept") in set(transitions())  # only when someone accepts it


def test_the_ladder_climbs_one_tier_at_a_time_and_stops_at_the_district():
    assert [next_tier(t) for t in LADDER] == [*LADDER[1:], None]
    assert next_tier("not a tier") == "grid_leader"  # an unknown tier counts as the grid's


@pytest.mark.parametrize(("status", "role", "expected"), [
    # a grid leader on their ground leads the loop, but never handles it for the worker
    ("reported", "grid_leader", {"accept", "reassign", "escalate", "merge", "comment"}),
    ("resolved", "grid_leader", {"verify", "return", "comment"}),
    ("verified", "grid_leader", {"close", "comment"}),
    ("closed", "grid_leader", {"comment"}),
    # the command centre also supervises (督办) and records the follow-up rating (回访)
    ("dispatched", "command_centre", {"reassign", "escalate", "supervise", "comment"}),
    ("closed", "command_centre", {"rate", "follow_up", "not_fixed", "comment"}),
    ("closed", "community_admin", {"follow_up", "comment"}),
    # a grid worker who does not hold it can only comment on their ground
    ("dispatched", "grid_worker", {"comment"}),
    # a planner takes no step of the loop at all
    ("reported", "planner", set()),
])
def test_what_each_role_may_do_on_its_ground(status, role, expected):
    principal = who(role, worker=99, areas=(GRID,))
    assert set(allowed_steps(Facts(status, assignee_id=1), principal, GRID)) == expected


def test_off_their_ground_a_leader_may_do_nothing():
    assert allowed_steps(Facts("reported"), who("grid_leader", worker=99, areas=(OTHER_GRID,)), GRID) == []


def test_the_assignee_works_it_whatever_their_role():
    mine = Facts("dispatched", assignee_id=7)
    assert set(allowed_steps(mine, who("grid_worker", worker=7), GRID)) == {"check_in", "reject", "escalate", "comment"}
    assert set(allowed_steps(Facts("in_progress", assignee_id=7), who("department", worker=7, department="fire"), GRID)) == {
        "resolve", "escalate", "comment"}
    assert "resolve" not in allowed_steps(Facts("in_progress", assignee_id=8), who("grid_worker", worker=7, areas=(GRID,)), GRID)


def test_a_resident_rates_and_comments_on_their_own_report_only():
    own = Facts("closed", reporter_user_id=5)
    assert set(allowed_steps(own, who("resident", user=5), GRID)) == {"rate", "not_fixed", "comment"}
    assert allowed_steps(own, who("resident", user=6), GRID) == []
    # a resident whose report was merged into it follows it like their own
    assert set(allowed_steps(own, who("resident", user=6), GRID, joined=True)) == {"rate", "not_fixed", "comment"}


def test_the_resolver_never_verifies_or_closes_their_own_resolution():
    leader = who("grid_leader", worker=99, areas=(GRID,))
    assert "verify" in allowed_steps(Facts("resolved", assignee_id=1), leader, GRID, resolved_by=1)
    assert set(allowed_steps(Facts("resolved", assignee_id=99), leader, GRID, resolved_by=99)) == {"return", "comment"}
    assert "close" not in allowed_steps(Facts("verified", assignee_id=99), leader, GRID, resolved_by=99)
    assert "close" in allowed_steps(Facts("verified", assignee_id=99), leader, GRID, resolved_by=None)  # category allows it


def test_reopened_work_goes_back_to_the_assignee_like_returned_work():
    mine = Facts("reopened", assignee_id=7)
    assert set(allowed_steps(mine, who("grid_worker", worker=7), GRID)) == {"check_in", "escalate", "comment"}


def test_the_system_may_take_any_step_the_status_allows():
    assert allowed_steps(Facts("reported"), None, GRID) == [a for a, s in STEPS.items() if "reported" in s.sources]


@pytest.mark.parametrize("role", sorted(ROLES))
def test_no_role_may_take_a_step_its_permissions_do_not_name(role):
    principal = who(role, worker=99, areas=(GRID,), department="fire")
    for step in STEPS.values():
        if step.permission is None or principal.can(step.permission):
            continue
        for status in step.sources:
            assert not may_take(step, Facts(status, assignee_id=1, department_code="fire"), principal, GRID), (role, step.action)
