"""Authentication: sign in, tokens, sign out, passwords, email verification, registration."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, exists, or_, select

from errors import (
    AccountDisabled,
    EmailTaken,
    InvalidCredentials,
    InvalidMfaCode,
    InvalidToken,
    MfaRequired,
    NotFound,
)
from models import AuthSession, Role, TokenPurpose, User, db, utcnow
from services import (
    action_token_service,
    audit_service,
    auth0_service,
    cache_service,
    email_service,
    mail_queue,
    mfa_service,
    password_service,
    session_service,
    token_service,
    user_service,
)
from services.base_service import read_only, transactional, unit_of_work
from services.password_service import PasswordPolicy
from services.session_service import IssuedTokens

logger = logging.getLogger(__name__)

# Mail jobs (services/mail_queue.py): they issue the link's token themselves, outside the request.
RESET_MAIL_JOB = "password_reset"
VERIFICATION_MAIL_JOB = "verification"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: who, with which role, through which sign-in session.

    It carries what authorization needs; services that change the caller's own row load it
    through `user`, so read-only routes never pay for it.
    """

    id: int
    role: str
    session_id: str
    token_id: str | None = None

    @classmethod
    def of(cls, user: User, session_id: str) -> Principal:
        """The principal of `user` signed in through session `session_id`."""
        return cls(id=user.id, role=user.role, session_id=session_id)

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return self.role == Role.ADMIN.value

    @property
    def user(self) -> User:
        """The caller's row in this request's session (loaded once, then from the identity map)."""
        user = db.session.get(User, self.id)
        if user is None:
            raise InvalidToken()
        return user


# The role of a live, active user in a live session: every request's check without the Redis
# cache (SQLite, or no REDIS_URL), so it is built once.
CALLER_ROLE = (
    select(User.role)
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(
        AuthSession.id == bindparam("session_id"),
        AuthSession.revoked_at.is_(None),
        User.id == bindparam("user_id"),
        User.deleted_at.is_(None),
        User.is_active.is_(True),
    )
)


def authenticate_access_token(token: str) -> Principal:
    """Verify an access token and its caller, or raise INVALID_TOKEN.

    The token must be well signed and unexpired, its session not revoked, and its user live and
    active. The answer comes from the shared cache when it vouches for both (see
    `cache_service`: revocations tombstone it before they commit), else from one query.
    When Auth0 is configured, the tenant's RS256 tokens are verified by `auth0_service` instead.
    """
    if auth0_service.claims_auth0(token):
        return _authenticate_auth0_token(token)
    claims = token_service.decode_access_token(token)
    role = cache_service.cached_role(claims.session_id, claims.user_id)
    if role is None:
        with read_only() as connection:
            role = connection.scalar(
                CALLER_ROLE, {"session_id": claims.session_id, "user_id": claims.user_id}
            )
        if role is None:
            raise InvalidToken()
        cache_service.remember_caller(claims.session_id, claims.user_id, role)
    return Principal(
        id=claims.user_id, role=role, session_id=claims.session_id, token_id=claims.token_id
    )


# The session id of a caller signed in with an old service's token (it has no session here).
LEGACY_ACCESS_SESSION = "legacy-access"


def authenticate_legacy_access_token(token: str) -> Principal:
    """Verify an access token the old Node.js service signed, or raise INVALID_TOKEN.

    Its `sub` is the user's `legacy_id`; the user must be live and active, with no user-wide
    revocation (`tokens_revoked_at`: password change or reset, deactivation) and no session of
    theirs revoked (logout) since the token was issued: old tokens have no session here.
    """
    claims = token_service.decode_legacy_access_token(token)
    revoked_since = exists().where(
        AuthSession.user_id == User.id, AuthSession.revoked_at >= claims.issued_at
    )
    with read_only() as connection:
        row = connection.execute(
            select(User.id, User.role).where(
                User.legacy_id == claims.legacy_id,
                User.deleted_at.is_(None),
                User.is_active.is_(True),
                or_(User.tokens_revoked_at.is_(None), User.tokens_revoked_at < claims.issued_at),
                ~revoked_since,
            )
        ).first()
    if row is None:
        raise InvalidToken()
    return Principal(id=row.id, role=row.role, session_id=LEGACY_ACCESS_SESSION)


def authenticate_v1_token(token: str) -> Principal:
    """A `/v1` caller: an access token of this backend (with its revocation rules), else one
    the old service signed (`authenticate_legacy_access_token`); INVALID_TOKEN otherwise."""
    try:
        return authenticate_access_token(token)
    except InvalidToken:
        return authenticate_legacy_access_token(token)


def _authenticate_auth0_token(token: str) -> Principal:
    claims = auth0_service.verify_access_token(token)
    user = auth0_service.authenticate(claims)
    if user.mfa_enabled and not auth0_service.mfa_performed(claims):
        # The local second factor cannot be asked for on an API call: refuse (docs/api.md).
        raise MfaRequired()
    jti = claims.get("jti")
    return Principal(
        id=user.id,
        role=user.role,
        session_id=f"{auth0_service.SESSION_PREFIX}{claims['sub']}",
        token_id=jti if isinstance(jti, str) else None,
    )


BROWSER = "browser"
# How a sign-in proved who it was (the audit event's `method`, carried by the mfa_token).
PASSWORD = mfa_service.FIRST_FACTOR
AUTH0 = "auth0"


def authenticate_browser_session(session_id: str) -> Principal | None:
    """The principal of a live browser session, or None when it ended or its user is gone/disabled.

    Every cookie-authenticated request asks the database, so logout and password changes end the
    session at once in every worker, whatever the replayed cookie says.
    """
    user = db.session.scalars(
        select(User)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(
            AuthSession.id == session_id,
            AuthSession.kind == BROWSER,
            AuthSession.revoked_at.is_(None),
            User.deleted_at.is_(None),
            User.is_active.is_(True),
        )
    ).first()
    return None if user is None else Principal.of(user, session_id)


@dataclass(frozen=True)
class MfaChallenge:
    """The password was right; a second factor is needed: finish with the token and a code."""

    mfa_token: str
    expires_in: int
    mfa_required: bool = True


API = "api"


def login(*, email: str, password: str, kind: str = API) -> IssuedTokens | MfaChallenge:
    """Check the password and open a sign-in session, or ask for the second factor.

    Unknown emails cost one hash too. A failure is recorded in the audit trail on its own.
    """
    with _recording_failures(email):
        user = _check_credentials(email=email, password=password)
        if mfa_service.is_enabled(user.id):
            return _challenge(user, kind)
        return _open_api_session(user, kind=kind, mfa=False)


def complete_mfa_login(*, mfa_token: str, code: str) -> IssuedTokens:
    """Second step of an API sign-in: a valid mfa_token and a right code answer the tokens."""
    user_id = mfa_service.decode_mfa_token(mfa_token, API)
    with _recording_failures(None, user_id=user_id):
        user = _check_second_factor(user_id, code)
        return _open_api_session(user, kind=API, mfa=True)


def login_browser(
    *, email: str, password: str, replaces_session_id: str | None = None
) -> Principal | MfaChallenge:
    """Check the password and open a browser session (no tokens); the one it replaces ends.
    With 2FA on, answer the challenge instead (`complete_browser_mfa` finishes)."""
    with _recording_failures(email):
        user = _check_credentials(email=email, password=password)
        if mfa_service.is_enabled(user.id):
            return _challenge(user, BROWSER)
        return _open_browser_session(user, replaces_session_id, mfa=False)


def complete_browser_mfa(
    *, mfa_token: str, code: str, replaces_session_id: str | None = None
) -> Principal:
    """Second step of a browser sign-in (its first was the password or Auth0)."""
    pending = mfa_service.decode_pending_sign_in(mfa_token, BROWSER)
    with _recording_failures(None, user_id=pending.user_id):
        user = _check_second_factor(pending.user_id, code)
        return _open_browser_session(user, replaces_session_id, mfa=True, method=pending.method)


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


def _challenge(user: User, kind: str, method: str = PASSWORD) -> MfaChallenge:
    return MfaChallenge(
        mfa_token=mfa_service.encode_mfa_token(user.id, kind, method),
        expires_in=current_app.config["MFA_TOKEN_SECONDS"],
    )


def _check_second_factor(user_id: int, code: str) -> User:
    user = user_service.find(user_id)
    if user is None:
        raise InvalidToken()
    if not user.is_active:
        raise AccountDisabled()
    if mfa_service.verify_for_login(user_id, code) is None:
        raise InvalidMfaCode()
    return user


def _open_api_session(user: User, *, kind: str, mfa: bool) -> IssuedTokens:
    session = session_service.open_session(user, kind=kind)
    _record_login(user, kind, mfa)
    db.session.flush()
    return session_service.issue_tokens(user, session.id)


def _open_browser_session(
    user: User, replaces_session_id: str | None, *, mfa: bool, method: str = PASSWORD
) -> Principal:
    if replaces_session_id:
        session_service.revoke_session(replaces_session_id, reason=session_service.REVOKED_REPLACED)
    session = session_service.open_session(user, kind=BROWSER)
    _record_login(user, BROWSER, mfa, method)
    return Principal.of(user, session.id)


@transactional
def login_auth0_browser(
    *, claims: dict[str, Any], replaces_session_id: str | None = None
) -> Principal | MfaChallenge:
    """Open a browser session for the user of a verified Auth0 ID token, like a password login
    (and audited like one). With 2FA on here, Auth0 counts as the first factor only, unless the
    token says the tenant checked a second one (`amr`): then the challenge is answered."""
    user = auth0_service.browser_user(claims)
    mfa_done = auth0_service.mfa_performed(claims)
    if not mfa_done and mfa_service.is_enabled(user.id):
        return _challenge(user, BROWSER, AUTH0)
    return _open_browser_session(user, replaces_session_id, mfa=mfa_done, method=AUTH0)


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


@transactional
def logout(*, principal: Principal, refresh_token: str | None = None) -> None:
    """End the caller's session; a refresh token of another of their sessions ends that too."""
    session_service.revoke_session(principal.session_id, reason=session_service.REVOKED_LOGOUT)
    audit_service.record(audit_service.LOGOUT, actor_id=principal.id, subject_id=principal.id)
    if refresh_token:
        stored = session_service.find_refresh_token(refresh_token)
        session = db.session.get(AuthSession, stored.session_id) if stored else None
        if session is not None and session.user_id == principal.id:
            session_service.revoke_session(session.id, reason=session_service.REVOKED_LOGOUT)


@transactional
def logout_refresh_token(*, refresh_token: str) -> None:
    """End the session of an unused refresh token (the old `/v1` logout), or raise NOT_FOUND."""
    stored = session_service.find_refresh_token(refresh_token)
    session = db.session.get(AuthSession, stored.session_id) if stored else None
    if stored is None or stored.used_at is not None or session is None or session.is_revoked:
        raise NotFound("Not found")
    session_service.revoke_session(session.id, reason=session_service.REVOKED_LOGOUT)


@transactional
def change_password(
    *, principal: Principal, current_password: str, new_password: str, rotate_session: bool = False
) -> Principal:
    """Change one's own password; every other session of the user ends.

    With `rotate_session` (browsers), the caller's session ends too and a fresh one replaces it,
    so a copy of the old cookie is refused from now on; the answer names the session to use.
    """
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
    if not rotate_session:
        return principal
    session = session_service.open_session(user, kind=BROWSER)
    return Principal.of(user, session.id)


def register_and_sign_in(
    *, email: str, password: str, name: str, password_policy: PasswordPolicy
) -> IssuedTokens:
    """Create an account, mail a verification link and open a token session (the old `/v1`
    registration answers signed-in tokens)."""
    with unit_of_work(conflict=EmailTaken):
        user = user_service.add_user(
            email=email, password=password, name=name, password_policy=password_policy
        )
        session = session_service.open_session(user)
        db.session.flush()
        tokens = session_service.issue_tokens(user, session.id)
    _send_verification_later(user)
    return tokens


def register(*, email: str, password: str, name: str) -> User:
    """Create an account with the `user` role and mail a verification link."""
    user, _ = _register(email=email, password=password, name=name, sign_in=False)
    return user


def register_browser(*, email: str, password: str, name: str) -> Principal:
    """Create an account, mail a verification link and sign the new user in (browser session)."""
    user, session_id = _register(email=email, password=password, name=name, sign_in=True)
    return Principal.of(user, session_id or "")


def _register(*, email: str, password: str, name: str, sign_in: bool) -> tuple[User, str | None]:
    with unit_of_work(conflict=EmailTaken):
        user = user_service.add_user(email=email, password=password, name=name)
        session_id = session_service.open_session(user, kind=BROWSER).id if sign_in else None
    _send_verification_later(user)
    return user, session_id


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
        to=user.email, name=user.name, token=token, expires_minutes=minutes
    )


@transactional
def reset_password(
    *, token: str, password: str, password_policy: PasswordPolicy = PasswordPolicy.CURRENT
) -> None:
    """Set a new password with a mailed token; every session of the user ends."""
    user = action_token_service.consume(token, TokenPurpose.RESET_PASSWORD)
    password_service.check_password(password, email=user.email, policy=password_policy)
    user.password_hash = password_service.hash_password(password)
    session_service.revoke_user_sessions(user.id, reason=session_service.REVOKED_PASSWORD_RESET)
    audit_service.record(audit_service.PASSWORD_RESET, actor_id=user.id, subject_id=user.id)


@transactional
def check_reset_link(*, token: str) -> None:
    """INVALID_TOKEN when a reset link is unknown, used or expired; the link stays usable."""
    action_token_service.peek(token, TokenPurpose.RESET_PASSWORD)


def send_verification(*, user: User) -> None:
    """Mail a fresh verification link (nothing to do when already verified)."""
    if user.email_verified:
        return
    _send_verification_later(user)


@transactional
def verify_email(*, token: str) -> User:
    """Mark the address a verification token was sent to as verified."""
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
    email_service.send_verification_email(to=user.email, name=user.name, token=token)


@transactional
def start_mfa_enrolment(*, principal: Principal) -> mfa_service.Enrolment:
    """A new TOTP secret for the caller, to confirm with a first code."""
    return mfa_service.start_enrolment(principal.user)


@transactional
def confirm_mfa(*, principal: Principal, code: str) -> list[str]:
    """Turn 2FA on with a first code; answers the recovery codes (shown once)."""
    return mfa_service.confirm_enrolment(principal.user, code)


@transactional
def disable_mfa(*, principal: Principal, code: str) -> None:
    """Turn 2FA off with a code from the app or a recovery code."""
    mfa_service.disable(principal.user, code)
