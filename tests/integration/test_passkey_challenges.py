"""Where passkey challenges live: Redis when it is configured (shared by every worker, single
use by GETDEL, gone after PASSKEY_CHALLENGE_SECONDS), the database when it is not or while Redis
cannot be reached."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from sqlalchemy import func, select

from models import PasskeyChallenge, db
from services import cache_service
from services.auth import passkey_challenges
from services.base_service import unit_of_work
from tests.mail_server import configured

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/10"
UNREACHABLE = "redis://127.0.0.1:1/0"


def with_cache(app: Flask, url: str) -> Iterator[cache_service.Cache]:
    cache = cache_service.Cache(url, f"test-passkeys-{uuid.uuid4().hex}:", 60)
    app.extensions[cache_service.EXTENSION] = cache
    try:
        yield cache
    finally:
        del app.extensions[cache_service.EXTENSION]
        if url == REDIS_URL:
            for key in cache.client.scan_iter(f"{cache.prefix}*"):
                cache.client.delete(key)


@pytest.fixture
def redis_cache(app: Flask) -> Iterator[cache_service.Cache]:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.fail("Redis is required at 127.0.0.1:6379 for the passkey challenge tests")
    yield from with_cache(app, REDIS_URL)


@pytest.fixture
def unreachable_cache(app: Flask) -> Iterator[cache_service.Cache]:
    yield from with_cache(app, UNREACHABLE)


def stored_rows(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(PasskeyChallenge)))


def issue(app: Flask, purpose: str, user_id: int | None = None) -> bytes:
    with app.test_request_context(), unit_of_work():
        return passkey_challenges.issue(purpose=purpose, user_id=user_id)


def take(app: Flask, challenge: bytes) -> passkey_challenges.Issued | None:
    with app.test_request_context(), unit_of_work():
        return passkey_challenges.take(challenge)


def test_with_redis_a_challenge_lives_there_for_its_lifetime_and_works_once(app, redis_cache):
    with configured(app, PASSKEY_CHALLENGE_SECONDS=120):
        challenge = issue(app, passkey_challenges.SIGN_IN)
    keys = list(redis_cache.client.scan_iter(f"{redis_cache.prefix}passkey:challenge:*"))
    assert len(keys) == 1
    assert 110 < redis_cache.client.ttl(keys[0]) <= 120
    assert stored_rows(app) == 0

    assert take(app, challenge) == passkey_challenges.Issued("sign_in", None)
    assert take(app, challenge) is None
    assert list(redis_cache.client.scan_iter(f"{redis_cache.prefix}passkey:challenge:*")) == []


def test_without_redis_a_challenge_lives_in_the_database(app):
    challenge = issue(app, passkey_challenges.REGISTER, None)
    assert stored_rows(app) == 1

    assert take(app, challenge) == passkey_challenges.Issued("register", None)
    assert take(app, challenge) is None
    assert stored_rows(app) == 0


def test_issuing_clears_expired_challenges(app):
    with configured(app, PASSKEY_CHALLENGE_SECONDS=30):
        old = issue(app, passkey_challenges.SIGN_IN)
    with app.app_context():
        row = db.session.scalars(select(PasskeyChallenge)).one()
        row.expires_at = row.expires_at.replace(year=2000)
        db.session.commit()

    issue(app, passkey_challenges.SIGN_IN)

    assert stored_rows(app) == 1
    assert take(app, old) is None


def test_while_redis_is_unreachable_the_database_holds_challenges(app, unreachable_cache):
    challenge = issue(app, passkey_challenges.SECOND_FACTOR, None)
    assert stored_rows(app) == 1

    assert take(app, challenge) == passkey_challenges.Issued("second_factor", None)
    assert stored_rows(app) == 0


def test_a_challenge_kept_in_the_database_during_an_outage_is_found_once_redis_is_back(
    app, redis_cache
):
    with_outage = cache_service.Cache(UNREACHABLE, redis_cache.prefix, 60)
    app.extensions[cache_service.EXTENSION] = with_outage
    challenge = issue(app, passkey_challenges.SIGN_IN)
    app.extensions[cache_service.EXTENSION] = redis_cache

    assert take(app, challenge) == passkey_challenges.Issued("sign_in", None)
    assert take(app, challenge) is None
