"""`flask users …`: manage accounts from a shell, with the API's rules and audit trail. The
operator acts as an administrator (`policy.OPERATOR`); the events record no acting user."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from cli.problems import fail, reported
from domain.emails import normalize_email
from errors import EmailTaken
from models import User, db
from schemas.user import UserCreate, UserListQuery, UserUpdate
from services import admin_service, user_service
from services.base_service import unit_of_work
from services.policy import OPERATOR
from services.user_service import SORT_COLUMNS

users_cli = AppGroup("users", help="Manage user accounts.")
USER_ARGUMENT = click.argument("user", metavar="USER")
USER_HELP = "USER is an id or an email address."
ROLE_CHOICE = click.Choice(["user", "admin"])
TABLE_COLUMNS = (("id", 8), ("email", 32), ("name", 24), ("role", 6), ("active", 7))


def find_user_id(identifier: str, *, deleted: bool = False) -> int:
    """The id of the user named by id or email (a deleted one with `deleted`: the latest)."""
    if identifier.isdecimal():
        condition = User.id == int(identifier)
    else:
        try:
            condition = User.email == normalize_email(identifier)
        except ValueError:
            fail([f"{identifier!r} is neither a user id nor an email address"])
    live = User.deleted_at.is_not(None) if deleted else User.deleted_at.is_(None)
    user_id = db.session.scalar(
        select(User.id).where(condition, live).order_by(User.deleted_at.desc())
    )
    if user_id is None:
        fail([f"No {'deleted' if deleted else 'live'} user {identifier}"])
    return int(user_id)


@users_cli.command("create")
@click.option("--email", required=True, help="Sign-in email (stored normalised, e.g. lower-cased).")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", type=ROLE_CHOICE, default="user", show_default=True)
@click.option("--password", help="Prompted for (hidden, twice) when omitted.")
def create_user(email: str, name: str, role: str, password: str | None) -> None:
    """Create a user with the same rules as the API."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with reported():
        data = UserCreate.model_validate(
            {"email": email, "name": name, "role": role, "password": password}
        )
        with unit_of_work(conflict=EmailTaken):
            user = user_service.add_user(
                email=data.email, password=data.password, name=data.name, role=data.role
            )
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@users_cli.command("list")
@click.option("--q", help="Part of the email or name (case-insensitive).")
@click.option("--role", type=ROLE_CHOICE)
@click.option("--active/--inactive", "is_active", default=None, help="Only (in)active users.")
@click.option(
    "--sort", default="id", show_default=True, help=f"{', '.join(SORT_COLUMNS)}; '-': desc"
)
@click.option("--page", default="1", show_default=True)
@click.option("--per-page", default="20", show_default=True, help="1 to 100.")
def list_users(
    q: str | None, role: str | None, is_active: bool | None, sort: str, page: str, per_page: str
) -> None:
    """List live users as a table, filtered like `GET /api/v1/users`."""
    arguments = {"q": q, "role": role, "is_active": is_active, "sort": sort}
    arguments |= {"page": page, "per_page": per_page}
    with reported():
        query = UserListQuery.model_validate({k: v for k, v in arguments.items() if v is not None})
        result = user_service.list_users(actor=OPERATOR, query=query)
    click.echo(_table_line([name for name, _ in TABLE_COLUMNS]))
    for row in result.items:
        click.echo(
            _table_line(
                [
                    row["id"],
                    row["email"],
                    row["name"],
                    row["role"],
                    "yes" if row["is_active"] else "no",
                ]
            )
        )
    click.echo(f"Page {result.page} of {result.pages}; {result.total} user(s).")


def _table_line(cells: list[object]) -> str:
    widths = [width for _, width in TABLE_COLUMNS]
    return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))


def _update(identifier: str, changes: dict[str, object]) -> User:
    user_id = find_user_id(identifier)
    with reported():
        return user_service.update(
            actor=OPERATOR,
            user_id=user_id,
            changes=UserUpdate.model_validate(changes),
            session_id=None,
        )


@users_cli.command("activate", epilog=USER_HELP)
@USER_ARGUMENT
def activate(user: str) -> None:
    """Let a user sign in again."""
    account = _update(user, {"is_active": True})
    click.echo(f"Activated {account.email} (id {account.id}).")


@users_cli.command("deactivate", epilog=USER_HELP)
@USER_ARGUMENT
def deactivate(user: str) -> None:
    """Stop a user signing in; their sessions end (not the last active administrator)."""
    account = _update(user, {"is_active": False})
    click.echo(f"Deactivated {account.email} (id {account.id}); their sessions ended.")


@users_cli.command("set-role", epilog=USER_HELP)
@USER_ARGUMENT
@click.argument("role", type=ROLE_CHOICE)
def set_role(user: str, role: str) -> None:
    """Make a user an administrator or a plain user (not the last active administrator)."""
    account = _update(user, {"role": role})
    click.echo(f"{account.email} (id {account.id}) is now {account.role}.")


@users_cli.command("change-password", epilog=USER_HELP)
@USER_ARGUMENT
@click.option("--password", help="Prompted for (hidden, twice) when omitted.")
def change_password(user: str, password: str | None) -> None:
    """Set a user's password (the API's rules); their sessions end."""
    user_id = find_user_id(user)
    if password is None:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    account = _update(str(user_id), {"password": password})
    click.echo(f"Changed the password of {account.email} (id {account.id}); sessions ended.")


@users_cli.command("reset-2fa", epilog=USER_HELP)
@USER_ARGUMENT
def reset_two_factor(user: str) -> None:
    """Turn a user's two-factor authentication off; their sessions end."""
    user_id = find_user_id(user)
    with reported():
        account = admin_service.reset_two_factor(actor=OPERATOR, user_id=user_id)
    click.echo(f"Two-factor authentication of {account.email} (id {account.id}) is off.")


@users_cli.command("delete", epilog=USER_HELP)
@USER_ARGUMENT
@click.confirmation_option(prompt="Delete this user? (The row is kept; `restore` undoes it.)")
def delete_user(user: str) -> None:
    """Soft-delete a user: they cannot sign in, the row stays (not the last active admin)."""
    user_id = find_user_id(user)
    with reported():
        user_service.delete(actor=OPERATOR, user_id=user_id)
    click.echo(f"Deleted user {user_id}.")


@users_cli.command("restore", epilog="USER is an id or the email of a deleted account.")
@USER_ARGUMENT
def restore_user(user: str) -> None:
    """Bring back a deleted user (refused while another live account has their email)."""
    user_id = find_user_id(user, deleted=True)
    with reported():
        account = admin_service.restore(actor=OPERATOR, user_id=user_id)
    click.echo(f"Restored {account.email} (id {account.id}).")
