"""`gridops users …`: users and their tokens."""

from __future__ import annotations

import click

from gridops.access.policy import ROLE_CODES
from gridops.access.users import add_user, list_users, revoke, user_areas
from gridops.cli.base import app_db, cli, make_app


@cli.group()
def users() -> None:
    """Users and their tokens."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, help=", ".join(ROLE_CODES))
@click.option("--area", "areas", multiple=True, help="An area code the user answers for (repeat for several).")
@click.option("--worker", "worker_code", default=None, help="Link to an existing worker (its code) instead of making one.")
@click.option("--department", default=None, help="For a department user: police, fire, sanitation, …")
@click.option("--phone", default=None)
def users_add(name: str, role: str, areas: tuple[str, ...], worker_code: str | None, department: str | None, phone: str | None) -> None:
    """Make a user; the token is printed once, as the last word of the output."""
    app = make_app()
    with app_db(app).session() as session:
        user, token = add_user(session, name, role, areas=list(areas), worker_code=worker_code, department=department,
                               phone=phone, layer=app.config["PRIMARY_LAYER"])
        scope = ", ".join(user_areas(session, user.id)) or "no areas"
        click.echo(f"user {user.id} {name} ({role}; {scope}) token: {token}")


@users.command("revoke")
@click.argument("user")
def users_revoke(user: str) -> None:
    """Deactivate a user (by id, or by name when it is unique): the token stops working at once."""
    app = make_app()
    with app_db(app).session() as session:
        for u in revoke(session, user):
            click.echo(f"user {u.id} {u.name} ({u.role}) revoked")


@users.command("list")
def users_list() -> None:
    """Users, their roles and whether they are active (tokens are never shown again)."""
    app = make_app()
    with app_db(app).session() as session:
        for u in list_users(session):
            click.echo(f"{u['id']}\t{u['name']}\t{u['role']}\t{'active' if u['active'] else 'revoked'}")
