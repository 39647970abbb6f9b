"""Signing in and out: passwords, the second step, Auth0, refresh-token rotation, logout."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, overload

from errors import (
    AccountDisabled,
    InvalidCredentials,
    InvalidMfaCode,
    InvalidToken,
    NotFound,
)
from models import AuthSession, User, db, utcnow
from services import (
    audit_service,
    auth0_service,
    mfa_service,
    password_service,
    session_service,
    token_service,
    user_service,
)
from services.auth.authentication import (
    API,
    AUTH0,
    BROWSER,
    PASSWORD,
    BrowserKind,
    Principal,
    TokenKind,
)
from services.auth.second_factor import MfaChallenge, challenge, check_second_factor
from services.base_service import unit_of_work
from services.security_notices import Notice, notify
from services.session_service import IssuedTokens

logger = logging.getLogger(__name__)


@overload
def login(
    *, email: str, password: str, kind: TokenKind = ..., replaces_session_id: None = None
) -> IssuedTokens | MfaChallenge: ...
@overload
def login(
    *, email: str, password: str, kind: BrowserKind, replaces_session_id: str | None = None
) -> Principal | MfaChallenge: ...
def login(
    *, email: str, password: str, kind: str = API, replaces_session_id: str | None = None
) -> IssuedTokens | Principal | MfaChallenge:
    """Check the password and open a session of `kind`, or ask for the second factor
    (`complete_mfa_login` finishes).

    Unknown emails cost one hash too. A failure is recorded in the audit trail on its own.
    """
    with _recording_failures(email):
        user = _check_credentials(email=email, password=password)
        if mfa_service.is_enabled(user.id):
            return challenge(user, kind)
        return signed_in(user, kind, replaces_session_id, mfa=False)


@overload
def complete_mfa_login(
    *, mfa_token: str, code: str, kind: TokenKind = ..., replaces_session_id: None = None
) -> IssuedTokens: ...
@overload
def complete_mfa_login(
    *, mfa_token: str, code: str, kind: BrowserKind, replaces_session_id: str | None = None
) -> Principal: ...
def complete_mfa_login(
    *, mfa_token: str, code: str, kind: str = API, replaces_session_id: str | None = None
) -> IssuedTokens | Principal:
    """Second step of a sign-in of `kind` (its first was the password, or Auth0 for browsers):
    a valid mfa_token and a right code open the session."""
    pending = mfa_service.decode_pending_sign_in(mfa_token, kind)
    with _recording_failures(None, user_id=pending.user_id):
        user = check_second_factor(pending.user_id, code)
        return signed_in(user, kind, replaces_session_id, mfa=True, method=pending.method)


@contextmanager
def _recording_failures(email: str | None, *, user_id: int | None = None) -> Iterator[None]:
    """One unit of work; when sign-in fails, the failure is recorded in a transaction of its own
    (the failed one rolled back). The email is recorded, never the password or the code."""
    try:
        with unit_of_work():
            yield
    except (InvalidCredentials, AccountDisabled, InvalidMfaCode) as error:
        if user_id is None and email is not None:
            known = user_service.get_by_email(email)
            user_id = known.id if known else None
        details: dict[str, object] = {"reason": error.code}
        if email is not None:
            details["email"] = email
        # No actor: whoever tried is not known to be the account's owner.
        audit_service.record_alone(audit_service.LOGIN_FAILED, subject_id=user_id, details=details)
        raise


def session_answer(user: User, kind: str, session_id: str) -> IssuedTokens | Principal:
    """What a new session of `kind` answers: a browser its principal, other kinds its tokens."""
    if kind == BROWSER:
        return Principal.of(user, session_id)
    db.session.flush()
    return session_service.issue_tokens(user, session_id)


def signed_in(
    user: User, kind: str, replaces_session_id: str | None, *, mfa: bool, method: str = PASSWORD
) -> IssuedTokens | Principal:
    """Open a session of `kind` for `user`, whose sign-in (by `method`) just succeeded, and
    answer it (in the caller's unit of work)."""
    session_id = _open_session(user, kind, replaces_session_id, mfa=mfa, method=method)
    return session_answer(user, kind, session_id)


def _open_session(
    user: User, kind: str, replaces_session_id: str | None, *, mfa: bool, method: str = PASSWORD
) -> str:
    """Open a recorded sign-in session of `kind` (ending the one it replaces); its id."""
    if replaces_session_id:
        session_service.revoke_session(replaces_session_id, reason=session_service.REVOKED_REPLACED)
    if session_service.is_new_device(user.id):
        notify(user.id, Notice.NEW_DEVICE_SIGN_IN)
    session = session_service.open_session(user, kind=kind)
    _record_login(user, kind, mfa, method)
    return session.id


def login_auth0_browser(
    *, claims: dict[str, Any], replaces_session_id: str | None = None
) -> Principal | MfaChallenge:
    """Open a browser session for the user of a verified Auth0 ID token, like a password login
    (and audited like one). With 2FA on here, Auth0 counts as the first factor only, unless the
    token says the tenant checked a second one (`amr`): then the challenge is answered."""
    with unit_of_work():
        user = auth0_service.browser_user(claims)
        mfa_done = auth0_service.mfa_performed(claims)
        if not mfa_done and mfa_service.is_enabled(user.id):
            return challenge(user, BROWSER, AUTH0)
        session_id = _open_session(user, BROWSER, replaces_session_id, mfa=mfa_done, method=AUTH0)
        return Principal.of(user, session_id)


def _check_credentials(*, email: str, password: str) -> User:
    user = user_service.get_by_email(email)
    if user is None:
        password_service.dummy_verify()
        raise InvalidCredentials()
    if not password_service.verify_password(user.password_hash, password):
        raise InvalidCredentials()
    if not user.is_active:
        raise AccountDisabled()
    if user.password_hash and password_service.needs_rehash(user.password_hash):
        user.password_hash = password_service.hash_password(password)
    return user


def _record_login(user: User, kind: str, mfa: bool, method: str = PASSWORD) -> None:
    user.last_login_at = utcnow()
    audit_service.record(
        audit_service.LOGIN_SUCCEEDED,
        actor_id=user.id,
        subject_id=user.id,
        details={"kind": kind, "method": method, "mfa": mfa},
    )


def refresh(*, refresh_token: str) -> IssuedTokens:
    """Rotate a refresh token. A token presented twice revokes its whole session (theft)."""
    with unit_of_work():
        stored = session_service.find_refresh_token(refresh_token)
        if stored is None or stored.expires_at <= utcnow():
            raise InvalidToken()
        session = db.session.get(AuthSession, stored.session_id)
        user = db.session.get(User, session.user_id) if session else None
        if session is None or session.is_revoked or user is None:
            raise InvalidToken()
        if session.kind == session_service.LEGACY_KIND:
            _check_imported_refresh_token(refresh_token, user)
        reused = stored.used_at is not None or not session_service.claim_refresh_token(stored)
        if reused:
            session_service.revoke_session(session.id, reason=session_service.REVOKED_REUSE)
            audit_service.record(
                audit_service.REFRESH_TOKEN_REUSED,
                subject_id=user.id,
                details={"session_revoked": True},
            )
        elif user.is_active and not user.is_deleted:
            return session_service.issue_tokens(user, session.id)
    if reused:
        logger.warning("refresh token reuse detected; session revoked (user %s)", user.id)
    raise InvalidToken()


def _check_imported_refresh_token(token: str, user: User) -> None:
    """A refresh token imported from the old service is its JWT, stored as a hash: it must still
    verify as the old service verified it (`LEGACY_JWT_SECRET`, `exp`, type `refresh`) and name
    its owner, else the import could hand a new pair to a token the old service would refuse."""
    claims = token_service.decode_legacy_token(token, token_service.REFRESH)
    if claims.legacy_id != user.legacy_id:
        raise InvalidToken()


def logout(*, principal: Principal, refresh_token: str | None = None) -> None:
    """End the caller's session; a refresh token of another of their sessions ends that too."""
    with unit_of_work():
        session_service.revoke_session(principal.session_id, reason=session_service.REVOKED_LOGOUT)
        audit_service.record(audit_service.LOGOUT, actor_id=principal.id, subject_id=principal.id)
        if refresh_token:
            stored = session_service.find_refresh_token(refresh_token)
            session = db.session.get(AuthSession, stored.session_id) if stored else None
            if session is not None and session.user_id == principal.id:
                session_service.revoke_session(session.id, reason=session_service.REVOKED_LOGOUT)


def logout_refresh_token(*, refresh_token: str) -> None:
    """End the session of an unused refresh token (the old `/v1` logout), or raise NOT_FOUND."""
    with unit_of_work():
        stored = session_service.find_refresh_token(refresh_token)
        session = db.session.get(AuthSession, stored.session_id) if stored else None
        if stored is None or stored.used_at is not None or session is None or session.is_revoked:
            raise NotFound("Not found")
        session_service.revoke_session(session.id, reason=session_service.REVOKED_LOGOUT)
