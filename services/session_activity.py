"""When each sign-in session was last used (`auth_sessions.last_used_at`), kept cheaply.

`note_use` is the one hook, called where a request is authenticated. It writes at most about once
a minute per session: an in-process map of when this process last wrote each session skips the
database entirely in between, and the UPDATE itself only matches a row whose value is older than
the interval, so several workers cannot write one session more often either. The column may thus
lag by up to `INTERVAL` (contract §9 allows a minute). Decision 0126.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Final

from sqlalchemy import bindparam, or_, text, update
from sqlalchemy.exc import SQLAlchemyError

from models import AuthSession, db, utcnow

logger = logging.getLogger(__name__)

INTERVAL: Final = timedelta(minutes=1)
# The map is pruned of entries older than the interval when it grows past this many sessions.
MAP_LIMIT: Final = 10_000
# session id -> time.monotonic() of this process's last write (or attempt).
_last_written: dict[str, float] = {}

TOUCH = (
    update(AuthSession)
    .where(
        AuthSession.id == bindparam("session_id"),
        AuthSession.revoked_at.is_(None),
        or_(AuthSession.last_used_at.is_(None), AuthSession.last_used_at < bindparam("cutoff")),
    )
    .values(last_used_at=bindparam("now"))
)
# A stamp never waits behind a row lock (a revocation in flight, or the request's own
# transaction): it gives up and the next one a minute later writes instead.
LOCK_TIMEOUT = text("SET LOCAL lock_timeout = '1s'")


def note_use(session_id: str) -> None:
    """Record that session `session_id` answered a request (at most once per `INTERVAL`).

    Never fails the request: the stamp is informational, so a write that fails is logged.
    """
    moment = time.monotonic()
    last = _last_written.get(session_id)
    if last is not None and moment - last < INTERVAL.total_seconds():
        return
    if len(_last_written) >= MAP_LIMIT:
        _prune(moment)
    _last_written[session_id] = moment
    now = utcnow()
    try:
        # Its own short transaction: the request's unit of work must not carry (or lose) it.
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(LOCK_TIMEOUT)
            parameters = {"session_id": session_id, "now": now, "cutoff": now - INTERVAL}
            connection.execute(TOUCH, parameters)
    except SQLAlchemyError as exc:
        logger.warning("session last-use stamp not written: %s", type(exc).__name__)


def forget() -> None:
    """Forget every session this process wrote (the next use of each writes again)."""
    _last_written.clear()


def _prune(moment: float) -> None:
    for session_id, written in list(_last_written.items()):
        if moment - written >= INTERVAL.total_seconds():
            _last_written.pop(session_id, None)
    if len(_last_written) >= MAP_LIMIT:  # all recent: start over rather than grow without end
        _last_written.clear()
