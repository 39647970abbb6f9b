"""Who is calling: the principal behind an access token, an old service's token or a browser
session."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy import ColumnElement, bindparam, exists, or_, select

from errors import (
    InvalidToken,
    MfaRequired,
)
from models import AuthSession, Role, User, db
from services import (
    auth0_service,
    cache_service,
    mfa_service,
    token_service,
)
from services.base_service import read_only
from services.token_service import AccessClaims

logger = logging.getLogger(__name__)

# The kinds of sign-in session.
API: Final = "api"
BROWSER: Final = "browser"
# A sign-in of a token kind answers tokens; of the browser kind, a principal (the cookie carries
# its session id).
TokenKind = Literal["api"]
BrowserKind = Literal["browser"]
# How a sign-in proved who it was (the audit event's `method`, carried by the mfa_token).
PASSWORD = mfa_service.FIRST_FACTOR
AUTH0 = "auth0"


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


def live_caller(caller: Any) -> tuple[ColumnElement[bool], ...]:
    """Where an access token's caller may call: its sign-in session (`AuthSession`, bound as
    `session_id`) not revoked, and its user (`caller`: `User` or an alias of it, bound as
    `caller_id`) live and active."""
    return (
        AuthSession.id == bindparam("session_id"),
        AuthSession.revoked_at.is_(None),
        caller.id == bindparam("caller_id"),
        caller.deleted_at.is_(None),
        caller.is_active.is_(True),
    )


# The role of a live, active user in a live session: every request's check without the Redis
# cache (SQLite, or no REDIS_URL), so it is built once.
CALLER_ROLE = (
    select(User.role).join(AuthSession, AuthSession.user_id == User.id).where(*live_caller(User))
)


def caller_parameters(claims: AccessClaims) -> dict[str, Any]:
    """The values `live_caller` binds, from the caller's token."""
    return {"session_id": claims.session_id, "caller_id": claims.user_id}


def own_access_claims(token: str) -> AccessClaims | None:
    """The verified claims of an access token of this backend; None for one of the Auth0 tenant
    (which `authenticate_access_token` verifies its own way); INVALID_TOKEN for anything else.
    The caller's revocation is still to be checked (`live_caller`)."""
    if auth0_service.claims_auth0(token):
        return None
    return token_service.decode_access_token(token)


def principal_of(claims: AccessClaims, role: str | None) -> Principal:
    """The caller behind `claims`, whose live session and user answered `role`; INVALID_TOKEN
    when nothing answered (revoked, deleted or deactivated)."""
    if role is None:
        raise InvalidToken()
    return Principal(
        id=claims.user_id, role=role, session_id=claims.session_id, token_id=claims.token_id
    )


def authenticate_access_token(token: str) -> Principal:
    """Verify an access token and its caller, or raise INVALID_TOKEN.

    The token must be well signed and unexpired, its session not revoked, and its user live and
    active. The answer comes from the shared cache when it vouches for both (see
    `cache_service`: revocations tombstone it before they commit), else from one query.
    When Auth0 is configured, the tenant's RS256 tokens are verified by `auth0_service` instead.
    """
    claims = own_access_claims(token)
    if claims is None:
        return _authenticate_auth0_token(token)
    return caller_of(claims, cache_service.cached_role(claims.session_id, claims.user_id))


def caller_of(claims: AccessClaims, cached_role: str | None) -> Principal:
    """The caller of verified `claims`: with the role the shared cache vouched for
    (`cached_role`), else as the database answers (remembered in the cache); INVALID_TOKEN when
    revoked, deleted or deactivated."""
    if cached_role is not None:
        return principal_of(claims, cached_role)
    with read_only() as connection:
        role = connection.scalar(CALLER_ROLE, caller_parameters(claims))
    principal = principal_of(claims, role)
    cache_service.remember_caller(claims.session_id, claims.user_id, principal.role)
    return principal


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
