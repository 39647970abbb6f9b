"""Who may do what to a user account: every authorization rule, in one place."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from errors import Conflict, Forbidden
from models import User

ADMIN_ONLY_FIELDS = frozenset({"role", "is_active"})


class Actor(Protocol):
    """Whoever acts: a signed-in caller (`authentication.Principal`) or a `User` row."""

    @property
    def id(self) -> int: ...

    @property
    def is_admin(self) -> bool: ...


@dataclass(frozen=True)
class Operator:
    """Whoever runs a `flask` command: shell access to the deployment is an administrator's
    right. Its id is no user's (0), so the records it leaves name no acting user."""

    id: int = 0
    is_admin: bool = True


OPERATOR = Operator()


def acting_user_id(actor: Actor) -> int | None:
    """The user id to record as having acted (None for the command line's operator)."""
    return None if actor.id == OPERATOR.id else actor.id


def ensure_admin(actor: Actor) -> None:
    """Only administrators pass."""
    if not actor.is_admin:
        raise Forbidden("Administrator rights are required")


def ensure_can_delete(actor: Actor, user_id: int, *, allow_self_delete: bool = False) -> None:
    """Administrators delete users; with `allow_self_delete` (the old `/v1` contract, or the
    `ALLOW_SELF_DELETE` setting) a user may also delete their own account."""
    if allow_self_delete:
        ensure_self_or_admin(actor, user_id)
    elif actor.id == user_id and not actor.is_admin:
        raise Forbidden("Deleting your own account is turned off here; ask an administrator")
    else:
        ensure_admin(actor)


def may_act_for(actor: Actor, user_id: int) -> bool:
    """True when `actor` may act on what belongs to user `user_id`: their own, or any for
    administrators (routes that must not reveal what exists answer NOT_FOUND otherwise)."""
    return actor.is_admin or actor.id == user_id


def ensure_self_or_admin(actor: Actor, user_id: int) -> None:
    """A user may act on their own record; administrators on any. Checked before any lookup,
    so a non-admin learns nothing about other ids."""
    if not may_act_for(actor, user_id):
        raise Forbidden()


def ensure_can_update(actor: Actor, user_id: int, fields: Collection[str]) -> None:
    """Non-administrators change only their own name, email and password."""
    ensure_self_or_admin(actor, user_id)
    if not actor.is_admin and (sent := ADMIN_ONLY_FIELDS.intersection(fields)):
        raise Forbidden(f"Only administrators may change {', '.join(sorted(sent))}")


def needs_current_password(actor: Actor, target: User, *, confirm_own_changes: bool = True) -> bool:
    """Changing one's own email or password needs the current password; an admin resetting
    someone else's does not. The old `/v1` contract never asked for it (`confirm_own_changes`
    off), so its clients keep working."""
    return confirm_own_changes and actor.id == target.id


def ensure_keeps_an_active_admin(
    target: User, *, loses_admin: bool, active_admin_count: int
) -> None:
    """The last active administrator cannot be demoted, deactivated or deleted."""
    if loses_admin and target.is_admin and target.is_active and active_admin_count <= 1:
        raise Conflict("The last active administrator cannot be demoted, disabled or deleted")
