"""Rate limits on sign-in, refresh, recovery and registration: 429 RATE_LIMITED + Retry-After."""

import logging
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import redis
from flask import Blueprint, Flask

from blueprints.rate_limits import LimitedEndpoints, skip_unlimited_routes
from extensions import limiter
from tests.apps import dispose_engines, make_app
from tests.factories import PASSWORD, create_user
from tests.fault_services import throwaway_redis
from tests.mail_server import configured
from tests.ops_support import ROOT, free_port, stop_process, subprocess_env, wait_for_http
from tests.processes import SERVER, app_server

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/2"


def attempt(client, email, password="wrong-password-000"):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def assert_limited(response):
    assert response.status_code == 429
    assert response.json["error"]["code"] == "RATE_LIMITED"
    assert int(response.headers["Retry-After"]) > 0


def test_failed_logins_per_account_are_limited(app, client):
    create_user(app, email="target@example.com")
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="3/minute"):
        statuses = [attempt(client, "target@example.com").status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        blocked = attempt(client, "TARGET@example.com", PASSWORD)
        assert_limited(blocked)
        other = attempt(client, "someone-else@example.com")
        assert other.status_code == 401, "other accounts are not affected"


def test_successful_logins_do_not_count(app, client):
    create_user(app, email="ok@example.com")
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="2/minute"):
        for _ in range(4):
            assert attempt(client, "ok@example.com", PASSWORD).status_code == 200


def test_failed_logins_per_address_are_limited(app, client):
    with configured(app, RATELIMIT_LOGIN_PER_ADDRESS="3/minute"):
        for number in range(3):
            assert attempt(client, f"user{number}@example.com").status_code == 401
        assert_limited(attempt(client, "fresh@example.com"))
        elsewhere = client.post(
            "/api/v1/auth/login",
            json={"email": "fresh@example.com", "password": "x" * 12},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
        assert elsewhere.status_code == 401


def test_forgot_password_is_limited(app, client):
    with configured(app, RATELIMIT_FORGOT_PASSWORD="2/minute", MAIL_BACKEND="none"):
        for _ in range(2):
            response = client.post("/api/v1/auth/forgot-password", json={"email": "a@example.com"})
            assert response.status_code == 202
        assert_limited(client.post("/api/v1/auth/forgot-password", json={"email": "a@example.com"}))


def test_refresh_is_limited(app, client):
    with configured(app, RATELIMIT_REFRESH="2/minute"):
        for _ in range(2):
            response = client.post("/api/v1/auth/refresh", json={"refresh_token": "nope"})
            assert response.status_code == 401
        assert_limited(client.post("/api/v1/auth/refresh", json={"refresh_token": "nope"}))


def test_registration_is_limited(app, client):
    with configured(app, RATELIMIT_REGISTER="1/minute", MAIL_BACKEND="none"):
        first = client.post(
            "/auth/register", json={"email": "r1@example.com", "password": PASSWORD, "name": "R"}
        )
        assert first.status_code == 201
        second = client.post(
            "/auth/register", json={"email": "r2@example.com", "password": PASSWORD, "name": "R"}
        )
        assert_limited(second)


@pytest.mark.slow
def test_counters_are_shared_by_replicas_through_redis(app, database):
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.fail("Redis is required at 127.0.0.1:6379 for the shared rate-limit test")
    prefix = f"test-{uuid.uuid4().hex}"
    settings = {
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "RATELIMIT_LOGIN_PER_ACCOUNT": "3/minute",
    }
    body = {"email": "shared@example.com", "password": "wrong-password-000"}
    try:
        with (
            app_server(database.url, **settings) as one,
            app_server(database.url, **settings) as two,
        ):
            statuses = [
                httpx.post(f"{base}/api/v1/auth/login", json=body).status_code
                for base in (one, two, one, two)
            ]
    finally:
        store = redis.Redis.from_url(REDIS_URL)
        for key in store.scan_iter(f"*{prefix}*"):
            store.delete(key)
    assert statuses == [401, 401, 401, 429]


def test_every_limited_route_still_runs_the_limiter(app, client, monkeypatch):
    """Flask-Limiter's hooks are skipped only where no limit applies (a cost of every request)."""
    seen = []
    original = limiter.identify_request
    monkeypatch.setattr(limiter, "identify_request", lambda: seen.append(1) or original())
    assert client.get("/health").status_code == 200
    assert seen == []
    assert attempt(client, "nobody@example.com").status_code == 401
    assert seen, "the login route's limits were not checked"
    limited = LimitedEndpoints(app, everywhere=False)
    endpoints = ("api.login", "api.refresh", "auth.login", "v1_compat.login", "health.get_health")
    found = set()
    for endpoint in endpoints:
        rule = next(app.url_map.iter_rules(endpoint))
        method = "GET" if "GET" in (rule.methods or ()) else "POST"
        with app.test_request_context(rule.rule, method=method):
            if limited.now():
                found.add(endpoint)
    assert found == {"api.login", "api.refresh", "auth.login", "v1_compat.login"}


def test_limits_added_in_any_of_flask_limiters_ways_count(database):
    """A `deduct_when` limit and a blueprint-wide limit on routes added after start-up are
    counted and send their headers (the hook skipping once missed both, silently)."""
    application = make_app(database.url)

    @limiter.limit("2/minute", deduct_when=lambda response: response.status_code == 400)
    def probe_deducted() -> tuple[str, int]:
        return "refused", 400

    probes = Blueprint("rate_limit_probes", __name__)

    @probes.get("/probe-blueprint-wide")
    def probe_blueprint_wide() -> str:
        return "ok"

    limiter.limit("2/minute")(probes)
    application.add_url_rule("/probe-deducted", view_func=probe_deducted)
    application.register_blueprint(probes)
    client = application.test_client()
    try:
        deducted = [client.get("/probe-deducted") for _ in range(3)]
        blueprint_wide = [client.get("/probe-blueprint-wide") for _ in range(3)]
    finally:
        dispose_engines(application)
    assert [r.status_code for r in deducted] == [400, 400, 429]
    assert deducted[0].headers["X-RateLimit-Remaining"] == "1"
    assert [r.status_code for r in blueprint_wide] == [200, 200, 429]
    assert blueprint_wide[0].headers["X-RateLimit-Limit"] == "2"


def test_route_wide_limits_keep_the_hooks_on_every_route(app):
    with app.test_request_context("/health"):
        assert LimitedEndpoints(app, everywhere=True).now()


def test_a_disabled_limiter_has_no_hooks_to_skip():
    flask_app = Flask(__name__)
    flask_app.config["RATELIMIT_ENABLED"] = False
    skip_unlimited_routes(flask_app)
    assert flask_app.before_request_funcs == {}


def test_an_unexpected_hook_layout_fails_loudly():
    with pytest.raises(RuntimeError, match="Flask-Limiter"):
        skip_unlimited_routes(Flask(__name__))  # no limiter hooks at all


def test_an_oversized_body_leaves_the_limiter_on_its_storage(app, client, caplog):
    """A body over MAX_CONTENT_LENGTH is refused (413) before the limiter reads it: Flask-Limiter
    once took the 413 raised by its key function for a storage outage, logged ERRORs and
    counted in fresh process memory, where a locked account was no longer locked."""
    create_user(app, email="locked@example.com")
    oversized = b'{"email": "locked@example.com", "password": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="2/minute"):
        assert [attempt(client, "locked@example.com").status_code for _ in range(2)] == [401, 401]
        assert_limited(attempt(client, "locked@example.com", PASSWORD))
        caplog.clear()
        with caplog.at_level(logging.INFO):
            refused = client.post(
                "/api/v1/auth/login", data=oversized, content_type="application/json"
            )
        assert refused.status_code == 413
        assert refused.json["error"]["code"] == "PAYLOAD_TOO_LARGE"
        assert_limited(attempt(client, "locked@example.com", PASSWORD))
    assert "falling back" not in caplog.text
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_no_rate_limit_times_in_the_past_once_a_lockout_expired(app, client):
    create_user(app, email="patient@example.com")
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="2/1 second"):
        assert [attempt(client, "patient@example.com").status_code for _ in range(2)] == [401, 401]
        assert_limited(attempt(client, "patient@example.com", PASSWORD))
        time.sleep(3.2)  # the window's entries are now seconds old
        signed_in = attempt(client, "patient@example.com", PASSWORD)
        health = client.get("/health")
    assert signed_in.status_code == 200
    assert "Retry-After" not in signed_in.headers, "Retry-After belongs to refused answers"
    assert int(signed_in.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert health.status_code == 200
    assert "Retry-After" not in health.headers


@pytest.mark.slow
def test_an_oversized_body_keeps_a_server_on_its_redis(app, database, tmp_path):
    """The same against a server process counting in Redis, as deployed: its log stays clean and
    the lock lives on in Redis."""
    create_user(app, email="locked@example.com")
    log = tmp_path / "server.log"
    oversized = b'{"email": "locked@example.com", "password": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    wrong = {"email": "locked@example.com", "password": "wrong-password-000"}
    right = {"email": "locked@example.com", "password": PASSWORD}
    with throwaway_redis() as cache:
        port = free_port()
        env = subprocess_env(
            PORT=str(port),
            TEST_DATABASE_URL=database.url,
            FLASK_CONFIG="testing",
            RATELIMIT_STORAGE_URI=cache.url,
            RATELIMIT_LOGIN_PER_ACCOUNT="2/minute",
            LOG_LEVEL="INFO",
        )
        with log.open("wb") as output:
            server = subprocess.Popen(
                [sys.executable, "-c", SERVER], cwd=ROOT, env=env, stdout=output, stderr=output
            )
            try:
                base = f"http://127.0.0.1:{port}"
                wait_for_http(f"{base}/health", process=server)
                login_url = f"{base}/api/v1/auth/login"
                assert [httpx.post(login_url, json=wrong).status_code for _ in range(2)] == [
                    401
                ] * 2
                assert httpx.post(login_url, json=right).status_code == 429
                refused = httpx.post(
                    login_url, content=oversized, headers={"Content-Type": "application/json"}
                )
                assert refused.status_code == 413
                statuses = [httpx.post(login_url, json=right).status_code for _ in range(4)]
                keys = redis.Redis.from_url(cache.url).keys("*login-account*")
            finally:
                stop_process(server)
    text = log.read_text()
    assert statuses == [429] * 4, "the account stays locked"
    assert keys, "the counters are in Redis"
    assert "falling back" not in text
    assert "ERROR" not in text and "Traceback" not in text
