"""Where a user is signed in: list their live sessions, end one, end all but the current one.

A session is live while it is not revoked and not expired: an API session while one of its
refresh tokens is unused and unexpired, a browser session while its cookie can still be valid
(`SESSION_LIFETIME_MINUTES` since its last use). Ending one uses the revocation every request
checks (`session_service.revoke_session`), so its tokens and cookie stop working at once in every
worker. An id the caller may not see answers NOT_FOUND, exactly like an unknown one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, exists, func, or_, select

from domain.devices import describe_device
from errors import NotFound
from models import AuthSession, RefreshToken, db, utcnow
from services import audit_service, policy, session_activity, session_service, user_service
from services.auth.authentication import BROWSER, Principal
from services.base_service import unit_of_work
from services.policy import Actor

REVOKED_BY_OWNER = "ended_by_user"
REVOKED_BY_ADMIN = "ended_by_admin"
REVOKED_OTHERS = "ended_others"


@dataclass(frozen=True)
class SessionInfo:
    """A live session as the contract shows it."""

    id: str
    kind: str
    created_at: datetime
    last_used_at: datetime
    ip: str | None
    user_agent: str | None
    device: str
    current: bool


def live_sessions() -> ColumnElement[bool]:
    """The condition of a session that still lets its tokens or cookie in."""
    now = utcnow()
    # The cookie lives SESSION_LIFETIME_MINUTES past the last request; last_used_at may lag.
    lifetime = timedelta(minutes=current_app.config["SESSION_LIFETIME_MINUTES"])
    browser_alive_since = now - lifetime - session_activity.INTERVAL
    last_used = func.coalesce(AuthSession.last_used_at, AuthSession.created_at)
    refreshable = exists().where(
        RefreshToken.session_id == AuthSession.id,
        RefreshToken.used_at.is_(None),
        RefreshToken.expires_at > now,
    )
    return and_(
        AuthSession.revoked_at.is_(None),
        or_(
            and_(AuthSession.kind == BROWSER, last_used >= browser_alive_since),
            and_(AuthSession.kind != BROWSER, refreshable),
        ),
    )


def list_own(*, principal: Principal) -> list[SessionInfo]:
    """The caller's live sessions, newest first, the current one marked."""
    return _list(principal.id, current_session_id=principal.session_id)


def list_for_user(*, actor: Principal, user_id: int) -> list[SessionInfo]:
    """A user's live sessions (administrators); NOT_FOUND for an unknown or deleted user."""
    policy.ensure_admin(actor)
    user_service.get(user_id)
    return _list(user_id, current_session_id=actor.session_id)


def _list(user_id: int, *, current_session_id: str) -> list[SessionInfo]:
    rows = db.session.scalars(
        select(AuthSession)
        .where(AuthSession.user_id == user_id, live_sessions())
        .order_by(AuthSession.created_at.desc(), AuthSession.id.desc())
    ).all()
    return [_info(row, current_session_id) for row in rows]


def _info(row: AuthSession, current_session_id: str) -> SessionInfo:
    return SessionInfo(
        id=row.id,
        kind=BROWSER if row.kind == BROWSER else "api",
        created_at=row.created_at,
        last_used_at=row.last_used_at or row.created_at,
        ip=row.client_address,
        user_agent=row.user_agent,
        device=describe_device(row.user_agent),
        current=row.id == current_session_id,
    )


def end(*, actor: Actor, session_id: str) -> None:
    """End one live session: the owner's own, or anyone's for administrators."""
    with unit_of_work():
        row = db.session.scalars(
            select(AuthSession).where(AuthSession.id == session_id, live_sessions())
        ).first()
        if row is None or not policy.may_act_for(actor, row.user_id):
            raise NotFound("Session not found")
        own = row.user_id == actor.id
        reason = REVOKED_BY_OWNER if own else REVOKED_BY_ADMIN
        # The UPDATE re-checks revoked_at under the row lock: of two racing requests only one
        # revokes and audits; the other answers as for a session already ended.
        if not session_service.revoke_session(row.id, reason=reason):
            raise NotFound("Session not found")
        _record_end(actor, row)


def end_others(*, principal: Principal) -> int:
    """End every session of the caller but the current one; answers how many live ones ended."""
    with unit_of_work():
        live = db.session.scalars(
            select(AuthSession).where(
                AuthSession.user_id == principal.id,
                AuthSession.id != principal.session_id,
                live_sessions(),
            )
        ).all()
        revoked = set(
            session_service.revoke_user_sessions(
                principal.id, reason=REVOKED_OTHERS, keep_session_id=principal.session_id
            )
        )
        ended = [row for row in live if row.id in revoked]
        for row in ended:
            _record_end(principal, row)
        return len(ended)


def _record_end(actor: Actor, row: AuthSession) -> None:
    audit_service.record(
        audit_service.SESSION_ENDED,
        actor_id=actor.id,
        subject_id=row.user_id,
        details={"session_id": row.id, "device": describe_device(row.user_agent)},
    )
