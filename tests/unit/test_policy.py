"""The authorization rules of services/policy.py, with the `/v1` contract's parameters."""

from dataclasses import dataclass

import pytest

from errors import Forbidden
from services import policy


@dataclass(frozen=True)
class Caller:
    id: int
    is_admin: bool = False


def test_only_admins_delete_unless_self_delete_is_allowed():
    with pytest.raises(Forbidden):
        policy.ensure_can_delete(Caller(1), 1)
    policy.ensure_can_delete(Caller(1), 1, allow_self_delete=True)
    policy.ensure_can_delete(Caller(1, is_admin=True), 2)
    with pytest.raises(Forbidden):
        policy.ensure_can_delete(Caller(1), 2, allow_self_delete=True)


def test_own_email_and_password_changes_need_the_current_password_unless_told_otherwise():
    target = Caller(1)
    assert policy.needs_current_password(Caller(1), target)  # type: ignore[arg-type]
    assert not policy.needs_current_password(Caller(1), target, confirm_own_changes=False)  # type: ignore[arg-type]
    assert not policy.needs_current_password(Caller(2, is_admin=True), target)  # type: ignore[arg-type]


def test_the_command_line_operator_is_an_admin_recorded_as_no_user():
    policy.ensure_admin(policy.OPERATOR)
    assert policy.acting_user_id(policy.OPERATOR) is None
    assert policy.acting_user_id(Caller(7, is_admin=True)) == 7
    with pytest.raises(Forbidden):
        policy.ensure_self_or_admin(Caller(1), policy.OPERATOR.id)
