"""When each sign-in session was last used (`auth_sessions.last_used_at`), kept cheaply.

`note_use` is the one hook, called where a request is authenticated. It stamps at most about once
a minute per session: an in-process map of when this process last stamped each session skips
everything in between. A stamp is not written by the request that makes it: it waits in this
process's queue until `flush`, which `services.deferred` runs once a second and when the process
falls idle, writes every waiting stamp in one transaction (decision 0140; before, each stamp was
a transaction of its own on the request path, and a worker restarting under load wrote a
thousand of them in its first seconds). The UPDATE only matches a row whose value is older than
the interval, so several workers cannot write one session more often either.

The column thus lags by less than `INTERVAL` plus the second a stamp may wait: under the minute
contract §9 allows. Decision 0126.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import bindparam, or_, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from models import AuthSession, db, utcnow
from services import deferred

logger = logging.getLogger(__name__)

INTERVAL: Final = timedelta(seconds=58)
# The map is pruned of entries older than the interval when it grows past this many sessions.
MAP_LIMIT: Final = 10_000
# session id -> time.monotonic() of this process's last stamp.
_last_written: dict[str, float] = {}
# Stamps waiting for `flush`: session id -> (the database it lives in, when it was used).
_waiting: dict[str, tuple[Engine, datetime]] = {}
_waiting_lock = threading.Lock()

TOUCH = (
    update(AuthSession)
    .where(
        AuthSession.id == bindparam("session_id"),
        AuthSession.revoked_at.is_(None),
        or_(AuthSession.last_used_at.is_(None), AuthSession.last_used_at < bindparam("cutoff")),
    )
    .values(last_used_at=bindparam("now"))
)
# A flush never waits behind a row lock (a revocation in flight, a request's own transaction):
# it gives up, and the sessions' next stamps a minute later write instead.
LOCK_TIMEOUT = text("SET LOCAL lock_timeout = '1s'")


def note_use(session_id: str) -> None:
    """Record that session `session_id` answered a request (at most once per `INTERVAL`), to be
    written by the next `flush`. Never fails the request: the stamp is informational."""
    moment = time.monotonic()
    last = _last_written.get(session_id)
    if last is not None and moment - last < INTERVAL.total_seconds():
        return
    if len(_last_written) >= MAP_LIMIT:
        _prune(moment)
    _last_written[session_id] = moment
    with _waiting_lock:
        _waiting[session_id] = (db.engine, utcnow())


def flush() -> None:
    """Write every waiting stamp, one transaction per database; a failed write is logged and its
    stamps dropped (the sessions' next uses stamp again)."""
    global _waiting
    with _waiting_lock:
        if not _waiting:
            return
        waiting, _waiting = _waiting, {}
    by_engine: defaultdict[Engine, list[dict[str, object]]] = defaultdict(list)
    for session_id, (engine, used_at) in waiting.items():
        by_engine[engine].append(
            {"session_id": session_id, "now": used_at, "cutoff": used_at - INTERVAL}
        )
    for engine, stamps in by_engine.items():
        try:
            with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(LOCK_TIMEOUT)
                connection.execute(TOUCH, stamps)
        except SQLAlchemyError as exc:
            logger.warning(
                "session last-use stamps not written (%d): %s", len(stamps), type(exc).__name__
            )


deferred.PROCESS.every_second(flush)


def forget() -> None:
    """Forget every session this process stamped (the next use of each stamps again), and drop
    the stamps not yet written."""
    _last_written.clear()
    with _waiting_lock:
        _waiting.clear()


def _prune(moment: float) -> None:
    for session_id, written in list(_last_written.items()):
        if moment - written >= INTERVAL.total_seconds():
            _last_written.pop(session_id, None)
    if len(_last_written) >= MAP_LIMIT:  # all recent: start over rather than grow without end
        _last_written.clear()
