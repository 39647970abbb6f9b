"""Changing one's email address: asked with the password, done by a link mailed to the new
address, undoable for 7 days by a link mailed to the old one (docs/decisions/0129-email-change.md).

The pending address rests in the confirmation token's row (`action_tokens.email`); the old one in
the undo token's. Both tokens are issued by mail jobs, so no token rests in the queue.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from errors import EmailTaken, ValidationError
from models import TokenPurpose, User, db
from services import (
    action_token_service,
    audit_service,
    email_service,
    mail_queue,
    password_service,
    session_service,
    user_service,
)
from services.auth.authentication import Principal
from services.base_service import after_commit, unit_of_work
from services.security_notices import Notice, notify

CONFIRM_MAIL_JOB = "email_change_confirmation"


def request_change(*, principal: Principal, new_email: str, current_password: str) -> None:
    """Ask to change the caller's address: the new one gets a confirmation link, the old one a
    notice with an undo link. A taken address is a CONFLICT, as at registration."""
    with unit_of_work():
        user = principal.user
        password_service.check_current_password(user.password_hash, current_password)
        if new_email == user.email:
            raise ValidationError.single("new_email", "This is already your email address")
        if user_service.get_by_email(new_email) is not None:
            raise EmailTaken()
        audit_service.record(
            audit_service.EMAIL_CHANGE_REQUESTED,
            actor_id=user.id,
            subject_id=user.id,
            details={"to": new_email},
        )
        notify(user.id, Notice.EMAIL_CHANGE_REQUESTED, email=user.email, new_email=new_email)
        user_id = user.id
        after_commit(
            lambda: mail_queue.submit(CONFIRM_MAIL_JOB, user_id=user_id, new_email=new_email)
        )


@mail_queue.job(CONFIRM_MAIL_JOB)
def deliver_confirmation(*, user_id: int, new_email: str) -> None:
    """Mail job: the confirmation link to the new address (it replaces any earlier one)."""
    hours = current_app.config["EMAIL_CHANGE_TOKEN_HOURS"]
    with unit_of_work():
        user = db.session.get(User, user_id)
        if user is None or user.is_deleted:
            return
        token = action_token_service.issue(
            user, TokenPurpose.CHANGE_EMAIL, timedelta(hours=hours), email=new_email
        )
    email_service.send_email_change_confirmation(
        to=new_email,
        name=user.name,
        old_email=user.email,
        token=token,
        expires_hours=hours,
        locale=user.locale,
    )


def confirm_change(*, token: str) -> User:
    """Make the address a confirmation link was mailed to the account's, verified."""
    with unit_of_work(conflict=EmailTaken):
        user, claimed = action_token_service.claim(token, TokenPurpose.CHANGE_EMAIL)
        new_email = claimed.email
        old_email = user.email
        if user_service.get_by_email(new_email) is not None:
            raise EmailTaken()
        user_service.change_email(user, new_email, verified=True)
        audit_service.record(
            audit_service.EMAIL_CHANGED,
            actor_id=user.id,
            subject_id=user.id,
            details={"from": old_email, "to": new_email, "by": "link"},
        )
        return user


def undo_change(*, token: str) -> User:
    """Follow an undo link: the address it was mailed to is the account's again (a pending
    change is dropped), and every session and token of the account ends."""
    with unit_of_work(conflict=EmailTaken):
        user, claimed = action_token_service.claim(token, TokenPurpose.UNDO_EMAIL_CHANGE)
        old_email, changed_from = claimed.email, user.email
        # The undo links of later changes die: whoever made them (to a mailbox of their own)
        # cannot take the account back from the owner; an earlier owner's link still works.
        action_token_service.void_outstanding(
            user.id, TokenPurpose.UNDO_EMAIL_CHANGE, issued_after=claimed.id
        )
        if old_email != user.email:
            if user_service.get_by_email(old_email) is not None:
                raise EmailTaken("The old address now belongs to another account")
            user_service.change_email(user, old_email, verified=True)
        else:
            action_token_service.void_outstanding(user.id, TokenPurpose.CHANGE_EMAIL)
        session_service.revoke_user_sessions(user.id, reason=session_service.REVOKED_EMAIL_UNDO)
        audit_service.record(
            audit_service.EMAIL_CHANGE_UNDONE,
            subject_id=user.id,
            details={"from": changed_from, "to": old_email},
        )
        return user


def check_link(*, token: str, purpose: TokenPurpose) -> str:
    """The address a confirmation or undo link acts on; INVALID_TOKEN when it is dead (the link
    stays usable)."""
    with unit_of_work():
        return action_token_service.peek_with_address(token, purpose)[1]
