"""One user of each role on the demo city's first grid, so every page can be walked at once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.access.users import add_user, principal_for
from gridops.core.errors import NotFound
from gridops.core.models import Assignment, Worker

HEADER = "# role\tname\ttoken (sign in at /login; grid worker: the phone page /worker)"


def still_valid(session: Session, tokens_file: Path) -> bool:
    """Whether the demo users written to this file before still sign in (then nothing need be made)."""
    if not tokens_file.exists():
        return False
    tokens = [ln.split("\t")[-1] for ln in tokens_file.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    return bool(tokens) and principal_for(session, tokens[0]) is not None


def make_demo_users(session: Session, layer: str) -> tuple[str, list[tuple[str, str, str]]]:
    """The grid they stand on, and (role, name, token) for each user made."""
    grid = session.scalar(select(Assignment.area_code).where(Assignment.duty == "primary")
                          .join(Worker, Worker.id == Assignment.worker_id).where(Worker.role == "grid_worker")
                          .order_by(Assignment.area_code).limit(1))
    if grid is None:
        raise NotFound("no grid has a worker yet: load a city first (gridops load DIR).")

    def on_duty(duty: str) -> str | None:
        return session.scalar(select(Worker.code).join(Assignment, Assignment.worker_id == Worker.id)
                              .where(Assignment.area_code == grid, Assignment.duty == duty))

    community = grid[:12]
    made = []
    for name, role, kw in (
        ("demo-grid-worker", "grid_worker", {"worker_code": on_duty("primary")}),
        ("demo-grid-leader", "grid_leader", {"worker_code": on_duty("leader")}),
        ("demo-community", "community_admin", {"areas": [community]}),
        ("demo-resident", "resident", {}),
        ("demo-command-centre", "command_centre", {}),
        ("demo-planner", "planner", {}),
        ("demo-admin", "admin", {}),
    ):
        _, token = add_user(session, name, role, layer=layer, **kw)
        made.append((role, name, token))
    return grid, made


def write_tokens(path: Path, made: list[tuple[str, str, str]]) -> None:
    """The tokens, kept locally (0600): they are shown nowhere else."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "\n" + "".join(f"{role}\t{name}\t{token}\n" for role, name, token in made), encoding="utf-8")
    path.chmod(0o600)
