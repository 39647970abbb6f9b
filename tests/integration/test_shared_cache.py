"""The Redis caches (services/cache_service.py): a write through one process is seen at once by
every other, for revocations, rights and user counts."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from flask import Flask
from sqlalchemy import select

from models import User, db
from services import cache_service, user_service
from tests.apps import count_queries, dispose_engines, make_app
from tests.factories import PASSWORD, browser_login, create_user, login, signed_in_user
from tests.fault_services import throwaway_redis
from tests.processes import app_server

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/6"


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own in Redis database 6, cleaned up afterwards."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.fail("Redis is required at 127.0.0.1:6379 for the shared cache tests")
    name = f"test-cache-{uuid.uuid4().hex}:"
    yield name
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(f"{name}*"):
        store.delete(key)


@pytest.fixture
def cached_app(app: Flask, database, prefix: str, monkeypatch) -> Iterator[Flask]:
    """A second app on the same database with the Redis cache on."""
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("CACHE_KEY_PREFIX", prefix)
    # Rate-limit counters in that Redis too: keep them apart from any other run's.
    monkeypatch.setenv("RATELIMIT_KEY_PREFIX", f"{prefix}rl")
    application = make_app(database.url)
    yield application
    dispose_engines(application)


def user_ids(base: str, headers: dict[str, str]) -> int:
    response = httpx.get(f"{base}/api/v1/users", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["data"]["pagination"]["total"])


@pytest.mark.slow
def test_writes_through_one_process_hold_at_once_in_another(app, database, prefix):
    admin = create_user(app, email="root@example.com", role="admin")
    member = create_user(app, email="member@example.com")
    settings = {
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": prefix,
        "RATELIMIT_KEY_PREFIX": f"{prefix}rl",
    }
    with app_server(database.url, **settings) as one, app_server(database.url, **settings) as two:
        sign_in = {"password": PASSWORD}
        admin_tokens = httpx.post(
            f"{one}/api/v1/auth/login", json={"email": admin.email, **sign_in}
        ).json()["data"]
        member_tokens = httpx.post(
            f"{one}/api/v1/auth/login", json={"email": member.email, **sign_in}
        ).json()["data"]
        admin_auth = {"Authorization": f"Bearer {admin_tokens['access_token']}"}
        member_auth = {"Authorization": f"Bearer {member_tokens['access_token']}"}
        member_url = f"/api/v1/users/{member.id}"
        for base in (one, two):  # both processes have vouched for the member (cached)
            assert httpx.get(base + member_url, headers=member_auth).status_code == 200
        assert user_ids(two, admin_auth) == 2

        created = httpx.post(
            f"{one}/api/v1/users",
            json={"email": "new@example.com", "password": PASSWORD, "name": "New"},
            headers=admin_auth,
        )
        assert created.status_code == 201
        assert user_ids(two, admin_auth) == 3  # the count cached by `two` is not reused

        patched = httpx.patch(f"{one}{member_url}", json={"is_active": False}, headers=admin_auth)
        assert patched.status_code == 200
        assert httpx.get(two + member_url, headers=member_auth).status_code == 401
        assert user_ids(two, admin_auth) == 3

        logout = httpx.post(f"{two}/api/v1/auth/logout", json={}, headers=admin_auth)
        assert logout.status_code == 200
        assert httpx.get(f"{one}/api/v1/users", headers=admin_auth).status_code == 401


def test_a_cached_caller_costs_no_query(cached_app, prefix):
    member = signed_in_user(cached_app, cached_app.test_client(), email="m@example.com")
    client = cached_app.test_client()
    url = "/api/v1/auth/2fa"
    assert client.get(url, headers=member.headers).status_code == 200  # fills the cache
    store = redis.Redis.from_url(REDIS_URL)
    assert store.get(f"{prefix}auth:u:{member.user_id}") == b"user"

    with count_queries(cached_app) as statements:
        assert client.get(url, headers=member.headers).status_code == 200
    assert len(statements) == 1  # the 2FA status itself; the token check came from Redis


def test_get_by_id_checks_the_caller_in_its_own_read_not_in_the_cache(cached_app, prefix):
    member = signed_in_user(cached_app, cached_app.test_client(), email="m@example.com")
    client = cached_app.test_client()
    # The session's first request stamps its last use (once a minute): not what is counted here.
    client.get(f"/api/v1/users/{member.user_id}", headers=member.headers)
    with count_queries(cached_app) as statements:
        assert (
            client.get(f"/api/v1/users/{member.user_id}", headers=member.headers).status_code == 200
        )
    assert len(statements) == 1
    store = redis.Redis.from_url(REDIS_URL)
    assert store.get(f"{prefix}auth:u:{member.user_id}") is None  # never asked, never filled


def test_demotion_takes_effect_at_once_with_the_cache(cached_app):
    client = cached_app.test_client()
    root = signed_in_user(cached_app, client, email="root@example.com", role="admin")
    other = signed_in_user(cached_app, client, email="other@example.com", role="admin")
    assert client.get("/api/v1/users", headers=other.headers).status_code == 200
    demoted = client.patch(
        f"/api/v1/users/{other.user_id}", json={"role": "user"}, headers=root.headers
    )
    assert demoted.status_code == 200
    assert client.get("/api/v1/users", headers=other.headers).status_code == 403


def test_password_change_ends_other_cached_sessions(cached_app):
    client = cached_app.test_client()
    first = signed_in_user(cached_app, client, email="pw@example.com")
    second = login(client, "pw@example.com")
    url = f"/api/v1/users/{first.user_id}"
    assert client.get(url, headers=second.headers).status_code == 200
    changed = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "another-Lantern-93-Quartz"},
        headers=first.headers,
    )
    assert changed.status_code == 200
    assert client.get(url, headers=second.headers).status_code == 401
    assert client.get(url, headers=first.headers).status_code == 200


def test_a_revoked_session_is_never_vouched_for_again(cached_app):
    """A reader that loaded the session before the revocation cannot re-fill the cache."""
    with cached_app.app_context():
        cache_service.forget_sessions(["s1"])
        cache_service.remember_caller("s1", 1, "user")
        assert cache_service.cached_role("s1", 1) is None


def test_an_unreachable_cache_falls_back_to_the_database(cached_app, monkeypatch):
    client = cached_app.test_client()
    member = signed_in_user(cached_app, client, email="down@example.com")
    admin = signed_in_user(cached_app, client, email="boss@example.com", role="admin")
    cache = cached_app.extensions[cache_service.EXTENSION]
    broken = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(cache, "client", broken)
    monkeypatch.setattr(cache, "count_script", broken.register_script(cache_service.COUNT_SCRIPT))
    url = f"/api/v1/users/{member.user_id}"
    assert client.get(url, headers=member.headers).status_code == 200
    listing = client.get("/api/v1/users", headers=admin.headers)
    assert listing.json["data"]["pagination"]["total"] == 2


def test_counts_a_request_needs_are_read_in_one_round_trip(cached_app):
    computed: list[str] = []

    def compute(signature: str, value: int):
        return lambda: computed.append(signature) or value

    with cached_app.app_context():
        first = cache_service.user_counts("a", "b")
        assert (first.get("a", compute("a", 3)), first.get("b", compute("b", 0))) == (3, 0)
        again = cache_service.user_counts("a", "b", "c")
        assert again.stored == {"a": b"3", "b": b"0", "c": None}
        assert again.get("a", compute("a", 99)) == 3 and again.get("b", compute("b", 99)) == 0
        assert again.get("c", compute("c", 5)) == 5
        create_user(cached_app, email="new@example.com")  # a new generation: nothing stored
        assert cache_service.user_counts("a", "c").stored == {"a": None, "c": None}
    assert computed == ["a", "b", "c"]


def test_a_count_lookup_vouches_for_its_caller_as_the_cache_would(cached_app):
    """The caller's session and user, read in the count lookup's round trip, vouch exactly as
    `cached_role` does: not before they are remembered, never over a tombstone."""
    with cached_app.app_context():
        assert cache_service.user_counts("a", caller=("s1", 1)).caller_role is None
        cache_service.remember_caller("s1", 1, "admin")
        counts = cache_service.user_counts("a", "b", caller=("s1", 1))
        assert counts.caller_role == "admin" == cache_service.cached_role("s1", 1)
        assert counts.stored == {"a": None, "b": None}
        cache_service.forget_sessions(["s1"])
        assert cache_service.user_counts("a", caller=("s1", 1)).caller_role is None
        cache_service.remember_caller("s2", 2, "user")
        cache_service.forget_users([2])
        assert cache_service.user_counts("a", caller=("s2", 2)).caller_role is None
        assert cache_service.user_counts("a").caller_role is None  # no caller asked about


def test_a_list_page_asks_about_its_caller_in_its_count_lookup(cached_app, monkeypatch):
    """An administrator's list page: one Redis round trip (the count and the caller together)
    and one statement (the page), once both are cached (decision 0151)."""
    client = cached_app.test_client()
    admin = signed_in_user(cached_app, client, email="boss@example.com", role="admin")
    assert client.get("/api/v1/users", headers=admin.headers).status_code == 200  # fills both
    cache = cached_app.extensions[cache_service.EXTENSION]
    commands: list[str] = []
    execute = cache.client.execute_command

    def recorded(*args, **options):
        commands.append(str(args[0]).upper())
        return execute(*args, **options)

    monkeypatch.setattr(cache.client, "execute_command", recorded)
    with count_queries(cached_app) as statements:
        listing = client.get("/api/v1/users", headers=admin.headers)
    assert listing.status_code == 200
    assert listing.json["data"]["pagination"]["total"] == 1
    assert commands == ["EVALSHA"]
    assert len(statements) == 1, statements  # the page; the caller came with the count


def test_a_count_below_its_keep_from_is_computed_each_time(cached_app):
    with cached_app.app_context():
        first = cache_service.user_counts("small", "large")
        assert first.get("small", lambda: 3, keep_from=10) == 3
        assert first.get("large", lambda: 10, keep_from=10) == 10
        assert cache_service.user_counts("small", "large").stored == {"small": None, "large": b"10"}


def test_a_search_keeps_its_count_only_when_it_is_large(cached_app, monkeypatch):
    """A search's count comes with its page; it is kept in Redis (and the next page reads its
    rows alone) only from SEARCH_COUNT_KEPT_FROM matches on (decision 0148)."""
    monkeypatch.setattr(user_service, "SEARCH_COUNT_KEPT_FROM", 4)
    client = cached_app.test_client()
    root = signed_in_user(cached_app, client, email="root@example.com", role="admin")
    for number in range(5):
        create_user(cached_app, email=f"many{number}@example.com", name=f"Many {number}")
    create_user(cached_app, email="few0@example.com", name="Few 0")

    def total(query: str) -> tuple[int, list[str]]:
        with count_queries(cached_app) as statements:
            response = client.get(f"/api/v1/users?per_page=2&{query}", headers=root.headers)
        assert response.status_code == 200, response.text
        return response.json["data"]["pagination"]["total"], statements

    def windowed(statements: list[str]) -> list[str]:
        return [s for s in statements if "OVER" in s.upper()]

    for _ in range(2):  # a small count: counted with its page every time
        found, statements = total("q=few")
        assert found == 1 and len(windowed(statements)) == 1, statements
    found, statements = total("q=many")
    assert found == 5 and len(windowed(statements)) == 1, statements
    found, statements = total("q=many&page=2")  # a large count: read from Redis
    assert found == 5 and windowed(statements) == [], statements
    with cached_app.app_context():
        counts = cache_service.user_counts("few|None|None|None", "many|None|None|None")
    assert counts.stored == {"few|None|None|None": None, "many|None|None|None": b"5"}


def test_caching_is_off_without_redis(app):
    with app.app_context():
        assert cache_service.current() is None
        assert cache_service.user_counts("x").get("x", lambda: 7) == 7
    assert os.environ.get("REDIS_URL") is None or app.config["REDIS_URL"] is None


@pytest.fixture
def two_processes(database, monkeypatch) -> Iterator[tuple[Flask, Flask, object]]:
    """Two apps on one database and one throwaway Redis (which the test may stop)."""
    with throwaway_redis() as server:
        monkeypatch.setenv("REDIS_URL", server.url)
        monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
        one, two = make_app(database.url), make_app(database.url)
        yield one, two, server
        dispose_engines(one)
        dispose_engines(two)


def test_sign_out_works_while_redis_is_down_and_holds_in_every_process(two_processes):
    one, two, server = two_processes
    member = signed_in_user(one, one.test_client(), email="out@example.com")
    browser = one.test_client()
    browser_login(browser, "out@example.com")
    csrf = browser.get("/auth/profile", headers={"Accept": "application/json"}).headers[
        "X-CSRFToken"
    ]
    url = f"/api/v1/users/{member.user_id}"
    for app in (one, two):  # both have vouched for the token: Redis holds "live"
        assert app.test_client().get(url, headers=member.headers).status_code == 200

    server.stop()
    api_logout = one.test_client().post("/api/v1/auth/logout", json={}, headers=member.headers)
    browser_logout = browser.post("/auth/logout", json={}, headers={"X-CSRFToken": csrf})

    assert api_logout.status_code == 200, api_logout.json
    assert browser_logout.status_code == 200, browser_logout.json
    for app in (one, two):  # Redis down: the database answers, and it holds the revocation
        assert app.test_client().get(url, headers=member.headers).status_code == 401
    assert browser.get("/auth/profile", headers={"Accept": "application/json"}).status_code == 401


def test_tombstones_owed_during_an_outage_are_written_when_redis_returns(
    two_processes, monkeypatch
):
    """Redis kept its entries (only `one` lost it): `one` owes the tombstone of the session it
    ended, pays it in the background as soon as Redis answers, and `two` then refuses the token."""
    one, two, _ = two_processes
    member = signed_in_user(one, one.test_client(), email="owed@example.com")
    url = f"/api/v1/users/{member.user_id}"
    for app in (one, two):
        assert app.test_client().get(url, headers=member.headers).status_code == 200
    cache = one.extensions[cache_service.EXTENSION]
    reachable = cache.client
    monkeypatch.setattr(
        cache, "client", redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    )

    logout = one.test_client().post("/api/v1/auth/logout", json={}, headers=member.headers)
    assert logout.status_code == 200
    assert cache.owed
    assert one.test_client().get(url, headers=member.headers).status_code == 401

    monkeypatch.setattr(cache, "client", reachable)  # Redis answers `one` again
    deadline = time.monotonic() + 5
    while cache.owed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not cache.owed
    assert two.test_client().get(url, headers=member.headers).status_code == 401
    assert one.test_client().get(url, headers=member.headers).status_code == 401


def test_after_an_outage_redis_vouches_again_only_after_the_grace(cached_app, monkeypatch):
    with cached_app.app_context():
        cache = cache_service.current()
        reachable = cache.client
        monkeypatch.setattr(
            cache,
            "client",
            redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2),
        )
        assert cache_service.cached_role("s2", 2) is None  # Redis down: the database answers
        monkeypatch.setattr(cache, "client", reachable)
        reachable.set(cache.key("auth:s", "s2"), "1")
        reachable.set(cache.key("auth:u", 2), "user")
        assert cache_service.cached_role("s2", 2) is None  # back, but owed tombstones may lag
        time.sleep(cache_service.GRACE_SECONDS)
        assert cache_service.cached_role("s2", 2) == "user"


def test_a_deep_page_starts_from_a_cached_anchor_and_follows_writes(cached_app, monkeypatch):
    """Past ANCHOR_EVERY, a page of the default list starts from the cached live id at the
    anchor below it (`id >= …`), not from the table's start; deletions and sign-ups move the
    anchors as they move the counts (decision 0121)."""
    monkeypatch.setattr(user_service, "ANCHOR_EVERY", 4)
    client = cached_app.test_client()
    root = signed_in_user(cached_app, client, email="root@example.com", role="admin")
    for number in range(16):
        create_user(cached_app, email=f"deep{number}@example.com")

    def page(number: int) -> list[int]:
        response = client.get(f"/api/v1/users?per_page=3&page={number}", headers=root.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json["data"]["items"]]

    def expected(number: int) -> list[int]:
        with cached_app.app_context():
            live = db.session.scalars(
                select(User.id).where(User.deleted_at.is_(None)).order_by(User.id)
            ).all()
        return list(live[(number - 1) * 3 : number * 3])

    # A deep page first: nothing is cached yet, the count included.
    assert [page(n) for n in range(7, 0, -1)] == [expected(n) for n in range(7, 0, -1)]
    fourth = expected(4)
    cache = cached_app.extensions[cache_service.EXTENSION]
    lookups = []
    script = cache.count_script
    monkeypatch.setattr(cache, "count_script", lambda **kw: lookups.append(kw) or script(**kw))
    with count_queries(cached_app) as statements:
        assert page(4) == fourth
    assert [s for s in statements if "users.id >=" in s], statements  # anchored, from the cache
    assert len(statements) == 1  # caller, count and anchor came from Redis
    assert [lookup["args"][1:] for lookup in lookups] == [["@id:8"]]  # count and anchor at once
    monkeypatch.setattr(cache, "count_script", script)

    victim = expected(2)[0]
    assert client.delete(f"/api/v1/users/{victim}", headers=root.headers).status_code == 200
    create_user(cached_app, email="late@example.com")
    assert [page(n) for n in range(1, 8)] == [expected(n) for n in range(1, 8)]
    assert victim not in [user_id for n in range(1, 8) for user_id in page(n)]
