"""The role table, on plain data: every role named once, what each sees, whose numbers it reads."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gridops.access.masking import mask_id_number, mask_phone
from gridops.access.policy import (
    KEEP_REGISTERS,
    LEAD,
    PERMISSIONS,
    PLAN,
    ROLES,
    WATCH,
    Forbidden,
    Principal,
    can_see,
    require_permission,
    roles_with,
    sees_contacts,
)

GRID = "510199001002005"


@dataclass
class Facts:
    assignee_id: int | None = None
    reporter_user_id: int | None = None
    department_code: str | None = None


def test_the_table_names_every_role_with_known_permissions_and_scopes():
    assert list(ROLES) == ["resident", "grid_worker", "grid_leader", "community_admin", "department", "command_centre", "planner",
                           "admin"]
    for r in ROLES.values():
        assert r.may <= set(PERMISSIONS), r.code
        assert r.sees in ("all", "ground", "department", "own", "none") and r.contacts in ("all", "ground", "own")
        assert r.name and r.name_en
    assert roles_with(PLAN) == ("planner", "admin")
    assert set(roles_with(WATCH)) == {"grid_leader", "community_admin", "command_centre", "planner", "admin"}
    assert set(roles_with(KEEP_REGISTERS)) == {"grid_leader", "community_admin", "command_centre", "admin"}
    assert {c for c, r in ROLES.items() if r.worker} == {"grid_worker", "grid_leader", "community_admin", "department"}


@pytest.mark.parametrize(("role", "incident", "seen"), [
    ("command_centre", Facts(), True),
    ("grid_worker", Facts(), True),  # on their ground
    ("department", Facts(department_code="fire"), True),
    ("department", Facts(department_code="police"), False),
    ("resident", Facts(reporter_user_id=1), True),
    ("resident", Facts(reporter_user_id=2), False),
    ("planner", Facts(), False),
])
def test_who_sees_an_incident(role, incident, seen):
    principal = Principal(1, role, role, None, "fire", (GRID,))
    assert can_see(principal, incident, GRID) is seen


def test_phone_numbers_are_for_those_who_must_call_back():
    incident = Facts(assignee_id=7, reporter_user_id=3)
    assert sees_contacts(Principal(1, "x", "grid_leader", 9, None, (GRID,)), incident, GRID)
    assert not sees_contacts(Principal(1, "x", "grid_worker", 9, None, (GRID,)), incident, GRID)
    assert sees_contacts(Principal(1, "x", "grid_worker", 7, None, (GRID,)), incident, GRID)
    assert sees_contacts(Principal(3, "x", "resident"), incident, GRID)
    assert mask_phone("13812345678") == "138****5678" and mask_id_number("510199199001011234") == "510199********1234"


def test_a_refusal_names_the_roles_that_may():
    with pytest.raises(Forbidden, match="planner, admin"):
        require_permission(Principal(1, "x", "grid_worker"), PLAN)
    require_permission(Principal(1, "x", "community_admin"), LEAD)
