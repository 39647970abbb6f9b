"""Shared caches in Redis that stay correct across workers and replicas.

Two things are cached, both only when `REDIS_URL` is set (without it every answer comes from the
database, which is correct everywhere):

* Who may call (`auth:s:<session>` = "1" when the sign-in session is live, `auth:u:<user>` = the
  role of a live, active user). Writers overwrite a key with a tombstone ("-") *before* their
  transaction commits; readers fill only absent keys (SET NX). A reader that loaded the old state
  can therefore never overwrite a tombstone, and a revocation holds at once for every worker. The
  one bounded gap: a reader that read the database before the commit and writes more than
  `TOMBSTONE_SECONDS` later.
  Redis is never needed to revoke (signing out works whenever the database does): a tombstone
  that cannot be written is owed. While Redis is unreachable every process answers from the
  database, which already holds the revocation; the owing process writes its tombstones before it
  trusts Redis again and retries every `RETRY_SECONDS` in the background, and a process that saw
  Redis fail answers from the database for `GRACE_SECONDS` after it returns, so entries Redis kept
  through the outage are tombstoned before they are trusted (docs/decisions/0091).
* Counts of users per filter (and the live ids at offsets a list page starts from), under a
  generation bumped after every commit that adds, deletes or changes a user in a counted way; a
  count is only ever stored under the generation it was read in, so no reader sees a count from
  before a write that already answered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis
from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from models import User

logger = logging.getLogger(__name__)

TOMBSTONE = "-"
TOMBSTONE_SECONDS = 120
# Owed tombstones are retried this often; after an outage, the database answers for a while.
RETRY_SECONDS = 0.5
GRACE_SECONDS = 2 * RETRY_SECONDS
COUNT_SECONDS = 300
# Changing these user columns changes who may call (auth) or what a filtered count counts.
AUTH_COLUMNS = ("role", "is_active", "deleted_at")
COUNTED_COLUMNS = ("role", "is_active", "deleted_at", "email", "name")
EXTENSION = "cache_service"
# The key kinds of a caller's session state ("1" or a tombstone) and user role.
AUTH_SESSION, AUTH_USER = "auth:s", "auth:u"
# One round trip: the current generation, the counts stored under it for each signature, then
# the value of each further key (a caller's `auth:s` and `auth:u`, when asked for).
COUNT_SCRIPT = """
local generation = redis.call('GET', KEYS[1]) or '0'
local stored = redis.call('HMGET', KEYS[2] .. generation, unpack(ARGV))
table.insert(stored, 1, generation)
for i = 3, #KEYS do
  table.insert(stored, redis.call('GET', KEYS[i]))
end
return stored
"""


class Cache:
    """The Redis client and key prefix of one application, and the tombstones it owes."""

    def __init__(self, url: str, prefix: str, entry_seconds: int) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.prefix = prefix
        self.entry_seconds = entry_seconds
        self.count_script = self.client.register_script(COUNT_SCRIPT)
        self.owed: set[str] = set()
        self.outage_seen = False
        self.trusted_from = 0.0
        self._lock = threading.Lock()
        self._retrying = False

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(part) for part in parts)

    def caller_keys(self, session_id: str, user_id: int) -> tuple[str, str]:
        """The keys of a caller's session state and user role."""
        return self.key(AUTH_SESSION, session_id), self.key(AUTH_USER, user_id)

    def vouched_role(self, session_state: object, role: object) -> str | None:
        """The role these values of `caller_keys` vouch for: a live session and user, with
        nothing owed and no recent outage; else None (the database answers)."""
        if not self.settled() or session_state != b"1" or role in (None, TOMBSTONE.encode()):
            return None
        return role.decode() if isinstance(role, bytes) else str(role)

    def write_tombstones(self, names: list[str]) -> None:
        """Tombstone these keys, or owe them when Redis cannot be reached."""
        with self._lock:
            self.owed.update(names)
        if self._pay():
            return
        logger.warning(
            "auth cache unreachable: %d tombstone(s) owed (the database holds the change)",
            len(names),
        )
        with self._lock:
            start, self._retrying = not self._retrying, True
        if start:
            threading.Thread(target=self._retry, name="cache-tombstones", daemon=True).start()

    def settled(self) -> bool:
        """True when nothing is owed (writing what is owed first) and no outage is recent:
        only then may Redis vouch for a caller."""
        if self.owed and not self._pay():
            return False
        if self.outage_seen:
            self.outage_seen = False
            self.trusted_from = time.monotonic() + GRACE_SECONDS
        return time.monotonic() >= self.trusted_from

    def failed(self) -> None:
        """Note that Redis failed: once it answers again, trust it only after the grace."""
        self.outage_seen = True

    def _pay(self) -> bool:
        with self._lock:
            names = list(self.owed)
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.set(name, TOMBSTONE, ex=TOMBSTONE_SECONDS)
                pipe.execute()
        except redis.RedisError:
            self.failed()
            return False
        with self._lock:
            self.owed.difference_update(names)
        return True

    def _retry(self) -> None:
        while True:
            time.sleep(RETRY_SECONDS)
            with self._lock:
                if not self.owed:
                    self._retrying = False
                    return
            if self._pay():
                logger.info("auth cache reachable again: owed tombstones written")


def init_app(app: Any) -> None:
    """Bind the cache to `app` when Redis is configured; hook the ORM writes once."""
    url = app.config.get("REDIS_URL")
    if url:
        prefix = app.config["CACHE_KEY_PREFIX"]
        app.extensions[EXTENSION] = Cache(url, prefix, app.config["JWT_ACCESS_TOKEN_EXPIRES"])
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


def current() -> Cache | None:
    """This application's cache, or None when caching is off."""
    if not has_app_context():
        return None
    cache: Cache | None = current_app.extensions.get(EXTENSION)
    return cache


def cached_role(session_id: str, user_id: int) -> str | None:
    """The caller's role when both the session and the user are known good; else None."""
    cache = current()
    if cache is None:
        return None
    try:
        session_state, role = cache.client.mget(*cache.caller_keys(session_id, user_id))
    except redis.RedisError:
        logger.warning("auth cache unreachable; answering from the database")
        cache.failed()
        return None
    return cache.vouched_role(session_state, role)


def remember_caller(session_id: str, user_id: int, role: str) -> None:
    """Record a caller the database just vouched for, never over a tombstone."""
    cache = current()
    if cache is None or not cache.settled():
        return
    try:
        with cache.client.pipeline(transaction=False) as pipe:
            session_key, user_key = cache.caller_keys(session_id, user_id)
            pipe.set(session_key, "1", ex=cache.entry_seconds, nx=True)
            pipe.set(user_key, role, ex=cache.entry_seconds, nx=True)
            pipe.execute()
    except redis.RedisError:
        logger.warning("auth cache unreachable; entry not stored")
        cache.failed()


def forget_sessions(session_ids: list[str]) -> None:
    """Tombstone revoked sessions (call before the revoking transaction commits)."""
    _tombstone([(AUTH_SESSION, session_id) for session_id in session_ids])


def forget_users(user_ids: list[int]) -> None:
    """Tombstone users whose role, activity or existence changes (before commit)."""
    _tombstone([(AUTH_USER, user_id) for user_id in user_ids])


def _tombstone(keys: list[tuple[str, object]]) -> None:
    cache = current()
    if cache is None or not keys:
        return
    cache.write_tombstones([cache.key(kind, name) for kind, name in keys])


class UserCounts:
    """Numbers that change only with the users' counted columns, by signature: the number of
    users matching a filter, or the live id at an offset (`user_service`). Cached per generation
    in Redis, else computed; the ones a request will need are looked up together, in one round
    trip (`user_counts`)."""

    def __init__(
        self, cache: Cache | None, signatures: Sequence[str], caller: tuple[str, int] | None = None
    ) -> None:
        self.cache = cache
        self.hash_name = ""  # the hash holding this generation's counts
        self.stored: dict[str, Any] = {}
        # The role the cache vouches for the `caller` (session id, user id) asked about, in the
        # same round trip (as `cached_role`); None when it does not or none was asked about.
        self.caller_role: str | None = None
        if cache is None:
            return
        generation_key, counts_key = cache.key("users:gen"), cache.key("users:count:")
        caller_keys = cache.caller_keys(*caller) if caller else ()
        try:
            generation, *stored = cache.count_script(
                keys=[generation_key, counts_key, *caller_keys], args=list(signatures)
            )
        except redis.RedisError:
            logger.warning("count cache unreachable; counting in the database")
            cache.failed()  # the callers it vouches for, too, until the grace has passed
            self.cache = None
            return
        if caller_keys:
            *stored, session_state, role = stored
            self.caller_role = cache.vouched_role(session_state, role)
        self.hash_name = counts_key + (
            generation.decode() if isinstance(generation, bytes) else str(generation)
        )
        self.stored = dict(zip(signatures, stored, strict=True))

    def get(self, signature: str, compute: Callable[[], int], *, keep_from: int = 0) -> int:
        """The number for `signature`: as stored, or computed (and stored for its generation
        when it is at least `keep_from`)."""
        stored = self.stored.get(signature)
        if stored is not None:
            return int(stored)
        total = compute()
        if self.cache is None or total < keep_from:
            return total
        try:
            with self.cache.client.pipeline(transaction=False) as pipe:
                pipe.hset(self.hash_name, signature, total)
                pipe.expire(self.hash_name, COUNT_SECONDS)
                pipe.execute()
        except redis.RedisError:
            logger.warning("count cache unreachable; count not stored")
        return total


def user_counts(*signatures: str, caller: tuple[str, int] | None = None) -> UserCounts:
    """The counts stored for `signatures` (one round trip), to `get` or compute; with the role
    the cache vouches for `caller` (session id, user id) in the same round trip."""
    return UserCounts(current(), signatures, caller)


def _changed(user: User, columns: tuple[str, ...]) -> bool:
    state = inspect(user)
    return any(state.attrs[name].history.has_changes() for name in columns)


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    """Note user writes: tombstone callers whose rights change; mark counts stale."""
    if current() is None:
        return
    users = [obj for obj in session.new if isinstance(obj, User)]
    changed = [obj for obj in session.dirty if isinstance(obj, User)]
    if users or any(_changed(user, COUNTED_COLUMNS) for user in changed):
        session.info["users_changed"] = True
    forget_users([user.id for user in changed if _changed(user, AUTH_COLUMNS)])


def _after_commit(session: Session) -> None:
    """Start a new count generation once a user write is visible to every reader."""
    if not session.info.pop("users_changed", False):
        return
    cache = current()
    if cache is None:
        return
    try:
        cache.client.incr(cache.key("users:gen"))
    except redis.RedisError:
        logger.error("count cache unreachable after a user write; counts may lag")


def _after_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop("users_changed", None)
