"""Sign-in sessions under `/api/v1` (contract §9): list yours, end one, end all others; an
administrator lists and ends anyone's."""

from __future__ import annotations

from blueprints.api import bp
from blueprints.endpoint import endpoint
from blueprints.security import current_principal
from schemas.session import SessionList, SessionsRevoked
from services.auth import sessions

TAGS = ("sessions",)


@bp.get("/auth/sessions")
@endpoint(response=SessionList, auth=True, errors=(401,), tags=TAGS)
def list_sessions() -> object:
    """Where you are signed in: your live sessions, newest first, this one marked `current`.
    `last_used_at` may lag by up to a minute."""
    return {"items": sessions.list_own(principal=current_principal())}


@bp.post("/auth/sessions/revoke-others")
@endpoint(response=SessionsRevoked, auth=True, errors=(401,), tags=TAGS)
def revoke_other_sessions() -> object:
    """Sign out everywhere else: every session of yours but this one ends."""
    return {"revoked": sessions.end_others(principal=current_principal())}


@bp.delete("/auth/sessions/<session:session_id>")
@endpoint(auth=True, errors=(401, 404), message="Session ended", tags=TAGS)
def revoke_session(session_id: str) -> None:
    """End one session (yours; administrators: anyone's): its tokens and cookie stop working at
    once. Another user's session answers 404, like an unknown one."""
    sessions.end(actor=current_principal(), session_id=session_id)


@bp.get("/users/<id:user_id>/sessions")
@endpoint(response=SessionList, auth=True, errors=(401, 403, 404), tags=("users", *TAGS))
def list_user_sessions(user_id: int) -> object:
    """A user's live sessions (administrators), newest first."""
    return {"items": sessions.list_for_user(actor=current_principal(), user_id=user_id)}
