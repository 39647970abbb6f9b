"""Accounts and their credentials: registration, email verification, password reset and change."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import overload

from flask import current_app

from domain.passwords import PasswordPolicy
from errors import (
    EmailTaken,
)
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
from services.auth import signin
from services.auth.authentication import BROWSER, BrowserKind, Principal, TokenKind
from services.base_service import unit_of_work
from services.security_notices import Notice, notify
from services.session_service import IssuedTokens

logger = logging.getLogger(__name__)

# Mail jobs (services/mail_queue.py): they issue the link's token themselves, outside the request.
RESET_MAIL_JOB = "password_reset"
VERIFICATION_MAIL_JOB = "verification"


def change_password(
    *, principal: Principal, current_password: str, new_password: str, rotate_session: bool = False
) -> Principal:
    """Change one's own password; every other session of the user ends.

    With `rotate_session` (browsers), the caller's session ends too and a fresh one replaces it,
    so a copy of the old cookie is refused from now on; the answer names the session to use.
    """
    with unit_of_work():
        user = principal.user
        password_service.check_current_password(user.password_hash, current_password)
        password_service.check_password(new_password, email=user.email, field="new_password")
        user.password_hash = password_service.hash_password(new_password)
        action_token_service.void_outstanding(user.id, TokenPurpose.RESET_PASSWORD)
        session_service.revoke_user_sessions(
            user.id,
            reason=session_service.REVOKED_PASSWORD_CHANGE,
            keep_session_id=None if rotate_session else principal.session_id,
        )
        audit_service.record(audit_service.PASSWORD_CHANGED, actor_id=user.id, subject_id=user.id)
        notify(user.id, Notice.PASSWORD_CHANGED)
        if not rotate_session:
            return principal
        session = session_service.open_session(user, kind=BROWSER)
        return Principal.of(user, session.id)


@overload
def register(
    *,
    email: str,
    password: str,
    name: str,
    password_policy: PasswordPolicy = ...,
    sign_in: None = None,
) -> User: ...
@overload
def register(
    *,
    email: str,
    password: str,
    name: str,
    password_policy: PasswordPolicy = ...,
    sign_in: TokenKind,
) -> IssuedTokens: ...
@overload
def register(
    *,
    email: str,
    password: str,
    name: str,
    password_policy: PasswordPolicy = ...,
    sign_in: BrowserKind,
    locale: str | None = ...,
) -> Principal: ...
def register(
    *,
    email: str,
    password: str,
    name: str,
    password_policy: PasswordPolicy = PasswordPolicy.CURRENT,
    sign_in: str | None = None,
    locale: str | None = None,
) -> User | IssuedTokens | Principal:
    """Create an account with the `user` role and mail a verification link.

    `locale`: the language the account was created in (a supported one, from the page), saved as
    the user's language of pages and mails.

    With `sign_in`, the new user is signed in too, in a session of that kind: browsers get
    their principal, the old `/v1` registration its tokens.
    """
    with unit_of_work(conflict=EmailTaken):
        user = user_service.add_user(
            email=email, password=password, name=name, password_policy=password_policy
        )
        user.locale = locale
        answer: User | IssuedTokens | Principal = user
        if sign_in is not None:
            session = session_service.open_session(user, kind=sign_in)
            answer = signin.session_answer(user, sign_in, session.id)
    _send_verification_later(user)
    return answer


def request_password_reset(*, email: str) -> None:
    """Queue the reset mail job for any address: the request does the same work whether or not
    an account exists, so neither its answer nor its duration tells (the job finds out)."""
    mail_queue.submit(RESET_MAIL_JOB, email=email)


@mail_queue.job(RESET_MAIL_JOB)
def deliver_password_reset(*, email: str) -> None:
    """Mail job: a reset link to `email` when an active account has it; nothing otherwise."""
    with unit_of_work():
        user = user_service.get_by_email(email)
        if user is None or not user.is_active:
            return
        minutes = current_app.config["PASSWORD_RESET_TOKEN_MINUTES"]
        token = action_token_service.issue(
            user, TokenPurpose.RESET_PASSWORD, timedelta(minutes=minutes)
        )
    email_service.send_password_reset_email(
        to=user.email, name=user.name, token=token, expires_minutes=minutes, locale=user.locale
    )


def reset_password(
    *, token: str, password: str, password_policy: PasswordPolicy = PasswordPolicy.CURRENT
) -> None:
    """Set a new password with a mailed token; every session of the user ends."""
    with unit_of_work():
        user = action_token_service.consume(token, TokenPurpose.RESET_PASSWORD)
        password_service.check_password(password, email=user.email, policy=password_policy)
        user.password_hash = password_service.hash_password(password)
        session_service.revoke_user_sessions(user.id, reason=session_service.REVOKED_PASSWORD_RESET)
        audit_service.record(audit_service.PASSWORD_RESET, actor_id=user.id, subject_id=user.id)
        notify(user.id, Notice.PASSWORD_RESET)


def check_reset_link(*, token: str) -> None:
    """INVALID_TOKEN when a reset link is unknown, used or expired; the link stays usable."""
    with unit_of_work():
        action_token_service.peek(token, TokenPurpose.RESET_PASSWORD)


def send_verification(*, user: User) -> None:
    """Mail a fresh verification link (nothing to do when already verified)."""
    if user.email_verified:
        return
    _send_verification_later(user)


def verify_email(*, token: str) -> User:
    """Mark the address a verification token was sent to as verified."""
    with unit_of_work():
        user = action_token_service.consume(token, TokenPurpose.VERIFY_EMAIL)
        user.email_verified = True
        audit_service.record(
            audit_service.EMAIL_VERIFIED,
            actor_id=user.id,
            subject_id=user.id,
            details={"email": user.email},
        )
        return user


def _send_verification_later(user: User) -> None:
    mail_queue.submit(VERIFICATION_MAIL_JOB, user_id=user.id)


@mail_queue.job(VERIFICATION_MAIL_JOB)
def deliver_verification(*, user_id: int) -> None:
    """Mail job: a fresh verification link to the user's current address, unless verified."""
    with unit_of_work():
        user = db.session.get(User, user_id)
        if user is None or user.email_verified:
            return
        hours = current_app.config["EMAIL_VERIFICATION_TOKEN_HOURS"]
        token = action_token_service.issue(user, TokenPurpose.VERIFY_EMAIL, timedelta(hours=hours))
    email_service.send_verification_email(
        to=user.email, name=user.name, token=token, locale=user.locale
    )
