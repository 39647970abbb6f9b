"""Sign-in sessions and refresh tokens (helpers: they flush, the calling service commits)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from sqlalchemy import select, update

from domain.devices import parse_device
from models import AuthSession, RefreshToken, User, db, utcnow
from services import cache_service, token_service

# The session of a refresh token imported from the old service (services/mongo_import/tokens.py).
LEGACY_KIND = "legacy"
REVOKED_LOGOUT = "logout"
REVOKED_PASSWORD_CHANGE = "password_change"  # noqa: S105 - a reason, not a secret
REVOKED_PASSWORD_RESET = "password_reset"  # noqa: S105 - a reason, not a secret
REVOKED_REUSE = "refresh_token_reuse"
REVOKED_ACCOUNT = "account_change"
REVOKED_REPLACED = "replaced"  # a new sign-in in the same browser
REVOKED_EMAIL_UNDO = "email_change_undone"
# How many of a user's distinct `User-Agent`s a new sign-in is compared with.
DEVICE_HISTORY = 1000


@dataclass(frozen=True)
class IssuedTokens:
    """A fresh access/refresh pair, with the user it was issued to."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    session_id: str


def open_session(user: User, *, kind: str = "api") -> AuthSession:
    """Start a sign-in session for `user`, remembering where it came from."""
    session = AuthSession(
        id=token_service.new_session_id(),
        user_id=user.id,
        kind=kind,
        client_address=(request.remote_addr or "")[:64] or None,
        user_agent=(request.user_agent.string or "")[:255] or None,
    )
    db.session.add(session)
    return session


def is_new_device(user_id: int) -> bool:
    """Whether this request signs the user in from a device (browser and system) none of their
    earlier sessions came from; False for their first sign-in ever (nothing to compare with).
    Call before opening the new session. Sessions imported from the old service are no history."""
    agents = db.session.scalars(
        select(AuthSession.user_agent)
        .where(AuthSession.user_id == user_id, AuthSession.kind != LEGACY_KIND)
        .distinct()
        .limit(DEVICE_HISTORY)
    ).all()
    if not agents:
        return False
    device = parse_device(request.user_agent.string[:255] or None)
    return all(parse_device(agent) != device for agent in agents)


def issue_tokens(user: User, session_id: str) -> IssuedTokens:
    """A new access token and a new refresh token in session `session_id`."""
    raw_refresh = token_service.new_opaque_token()
    db.session.add(
        RefreshToken(
            session_id=session_id,
            token_hash=token_service.hash_token(raw_refresh),
            expires_at=utcnow() + token_service.refresh_token_lifetime(),
        )
    )
    lifetime = token_service.access_token_lifetime()
    return IssuedTokens(
        access_token=token_service.encode_access_token(user_id=user.id, session_id=session_id),
        refresh_token=raw_refresh,
        expires_in=int(lifetime.total_seconds()),
        user=user,
        session_id=session_id,
    )


def find_refresh_token(raw_token: str) -> RefreshToken | None:
    """The stored refresh token matching `raw_token`, if any."""
    token_hash = token_service.hash_token(raw_token)
    return db.session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    ).first()


def claim_refresh_token(token: RefreshToken) -> bool:
    """Mark a refresh token used; False when someone else used it first (atomic)."""
    result = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def revoke_session(session_id: str, *, reason: str) -> bool:
    """End one sign-in session: its access and refresh tokens stop working. True when this call
    revoked it; False when it was already revoked (or unknown), e.g. by a concurrent request."""
    cache_service.forget_sessions([session_id])
    result = db.session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def revoke_user_sessions(
    user_id: int, *, reason: str, keep_session_id: str | None = None
) -> list[str]:
    """End every sign-in session of a user, except `keep_session_id` when given; answers the ids
    of the sessions it ended."""
    statement = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if keep_session_id is not None:
        statement = statement.where(AuthSession.id != keep_session_id)
    now = utcnow()
    revoked = db.session.scalars(
        statement.values(revoked_at=now, revoked_reason=reason)
        .returning(AuthSession.id)
        .execution_options(synchronize_session=False)
    ).all()
    if keep_session_id is None:
        # Every token of the user ends, session or not (old-service tokens have none).
        db.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(tokens_revoked_at=now)
            .execution_options(synchronize_session=False)
        )
    # Before the commit: a reader that still sees the old rows cannot re-vouch for them.
    cache_service.forget_sessions(list(revoked))
    return list(revoked)
