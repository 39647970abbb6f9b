"""What administrators do to an account beyond the user resource's fields: reset its second
factor, end its sessions, mail it a reset link, restore it after a delete. Shared by the API,
the console (`/admin`) and the command line; each action is audited with the acting admin."""

from __future__ import annotations

from sqlalchemy import select

from errors import Conflict, NotFound
from models import User, db
from services import audit_service, mfa_service, policy, session_service, user_service
from services.auth import registration
from services.base_service import unit_of_work
from services.policy import Actor
from services.security_notices import Notice, notify

REVOKED_MFA_RESET = "mfa_reset"
REVOKED_BY_ADMIN = "ended_by_admin"
RESTORE_CONFLICT = "Another live account uses this email now; change or delete it first"


def get_account(*, actor: Actor, user_id: int) -> User:
    """A user by id, deleted or not (administrators): what the console shows and restores."""
    policy.ensure_admin(actor)
    user = db.session.scalars(select(User).where(User.id == user_id)).first()
    if user is None:
        raise NotFound("User not found")
    return user


def reset_two_factor(*, actor: Actor, user_id: int) -> User:
    """Turn a user's second factor off (confirmed or half-enrolled) and end their sessions: whoever
    holds their password alone no longer holds a signed-in device either."""
    policy.ensure_admin(actor)
    with unit_of_work():
        user = user_service.get(user_id)
        enrolment = mfa_service.find(user.id, lock=True)
        if enrolment is not None:
            db.session.delete(enrolment)
        session_service.revoke_user_sessions(user.id, reason=REVOKED_MFA_RESET)
        audit_service.record(
            audit_service.MFA_RESET,
            actor_id=policy.acting_user_id(actor),
            subject_id=user.id,
            details={"was_enabled": bool(enrolment and enrolment.is_enabled)},
        )
        if enrolment is not None:  # mailed once the reset commits
            notify(user.id, Notice.MFA_RESET_BY_ADMIN)
    return user


def end_sessions(*, actor: Actor, user_id: int) -> None:
    """End every session of a user: their cookies and tokens stop working at once."""
    policy.ensure_admin(actor)
    with unit_of_work():
        user = user_service.get(user_id)
        session_service.revoke_user_sessions(user.id, reason=REVOKED_BY_ADMIN)
        audit_service.record(
            audit_service.USER_SESSIONS_ENDED,
            actor_id=policy.acting_user_id(actor),
            subject_id=user.id,
        )


def send_password_reset(*, actor: Actor, user_id: int) -> User:
    """Mail a user the usual password-reset link (the reset flow's own job and mail)."""
    policy.ensure_admin(actor)
    with unit_of_work():
        user = user_service.get(user_id)
        if not user.is_active:
            raise Conflict("A deactivated account cannot reset its password; activate it first")
        audit_service.record(
            audit_service.USER_PASSWORD_RESET_MAILED,
            actor_id=policy.acting_user_id(actor),
            subject_id=user.id,
        )
    registration.request_password_reset(email=user.email)
    return user


def restore(*, actor: Actor, user_id: int) -> User:
    """Bring a soft-deleted user back (CONFLICT when their email went to a new account)."""
    policy.ensure_admin(actor)
    with unit_of_work(RESTORE_CONFLICT):
        user = get_account(actor=actor, user_id=user_id)
        if not user.is_deleted:
            raise Conflict("This account is not deleted")
        if user_service.get_by_email(user.email) is not None:
            raise Conflict(RESTORE_CONFLICT)
        user.deleted_at = None
        user.deleted_by = None
        audit_service.record(
            audit_service.USER_RESTORED,
            actor_id=policy.acting_user_id(actor),
            subject_id=user.id,
        )
    return user
