"""Challenges of passkey ceremonies: handed out with the options, taken back once with the answer.

A challenge is kept by its SHA-256 (the answer's clientDataJSON carries the challenge, so a client
sends nothing else back) with what it was for and, when known, whose it is. It lives in Redis when
`REDIS_URL` is set (`GETDEL`: exactly one worker takes it) and in the database otherwise, or while
Redis cannot be reached (`DELETE … RETURNING`: the same guarantee). Either way every worker and
replica sees it, it works once, and it dies after `PASSKEY_CHALLENGE_SECONDS`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta

import redis
from flask import current_app
from sqlalchemy import delete
from webauthn.helpers import generate_challenge

from models import PasskeyChallenge, db, utcnow
from services import cache_service
from services.base_service import unit_of_work

logger = logging.getLogger(__name__)

# What a challenge was handed out for.
REGISTER = "register"
SIGN_IN = "sign_in"
SECOND_FACTOR = "second_factor"
KEY_KIND = "passkey:challenge"


@dataclass(frozen=True)
class Issued:
    """What a challenge was handed out for, and to whom (None: anyone, a discoverable sign-in)."""

    purpose: str
    user_id: int | None


def issue(*, purpose: str, user_id: int | None = None) -> bytes:
    """A fresh challenge for `purpose`, stored until taken or expired (a helper: in the database
    its row commits with the caller's unit of work)."""
    challenge = generate_challenge()
    seconds = current_app.config["PASSKEY_CHALLENGE_SECONDS"]
    name = _hash(challenge)
    cache = cache_service.current()
    if cache is not None:
        value = json.dumps({"purpose": purpose, "user_id": user_id})
        try:
            cache.client.set(cache.key(KEY_KIND, name), value, ex=seconds)
            return challenge
        except redis.RedisError:
            logger.warning("passkey challenge store unreachable; keeping it in the database")
    now = utcnow()
    db.session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.expires_at <= now))
    db.session.add(
        PasskeyChallenge(
            challenge_hash=name,
            purpose=purpose,
            user_id=user_id,
            expires_at=now + timedelta(seconds=seconds),
        )
    )
    return challenge


def take(challenge: bytes) -> Issued | None:
    """What `challenge` was issued for, removing it: None when unknown, used or expired (a helper:
    in the database its removal commits with the caller's unit of work)."""
    name = _hash(challenge)
    cache = cache_service.current()
    if cache is not None:
        try:
            stored = cache.client.getdel(cache.key(KEY_KIND, name))
        except redis.RedisError:
            logger.warning("passkey challenge store unreachable; looking in the database")
            stored = None
        if stored is not None:
            data = json.loads(stored)
            return Issued(purpose=str(data["purpose"]), user_id=data["user_id"])
    row = db.session.execute(
        delete(PasskeyChallenge)
        .where(PasskeyChallenge.challenge_hash == name)
        .returning(PasskeyChallenge.purpose, PasskeyChallenge.user_id, PasskeyChallenge.expires_at)
    ).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return Issued(purpose=row.purpose, user_id=row.user_id)


def spend(challenge: bytes, *, purpose: str, user_id: int | None) -> bool:
    """Take a challenge back in a transaction of its own (so it is spent even when the answer
    then fails); True when it was live and issued for `purpose` to `user_id`."""
    with unit_of_work():
        issued = take(challenge)
    return issued == Issued(purpose=purpose, user_id=user_id)


def _hash(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()
