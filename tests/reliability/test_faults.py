"""Faults while the app serves: PostgreSQL stopped and restarted, Redis lost, slow queries.

Each test controls servers it starts itself (tests/fault_services.py), never the shared ones.
"""

import time

import httpx
import pytest
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from models import User, db
from tests.factories import PASSWORD, create_user
from tests.fault_services import throwaway_postgres, throwaway_redis
from tests.ops_support import throwaway_app
from tests.processes import app_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OUTAGE_BOUND_SECONDS = 5.0


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def register(base, email):
    body = {"email": email, "password": PASSWORD, "name": "Writer"}
    return httpx.post(f"{base}/auth/register", json=body, timeout=30)


def test_database_outage_fails_fast_and_recovers_without_restart():
    with throwaway_postgres() as cluster:
        with throwaway_app(cluster.url) as migrator, migrator.app_context():
            upgrade()
        settings = {
            "MAIL_BACKEND": "none",
            "RATELIMIT_ENABLED": "false",
            "DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
        }
        with app_server(cluster.url, **settings) as base:
            acknowledged = [f"before{n}@example.com" for n in range(3)]
            assert all(register(base, email).status_code == 201 for email in acknowledged)
            login = httpx.post(
                f"{base}/api/v1/auth/login",
                json={"email": acknowledged[0], "password": PASSWORD},
            )
            headers = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}

            cluster.stop()
            profile, seconds = timed(
                lambda: httpx.get(f"{base}/auth/profile", headers=headers, timeout=30)
            )
            assert profile.status_code == 503
            assert profile.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
            assert seconds < OUTAGE_BOUND_SECONDS
            assert "postgres" not in profile.text.lower()
            during, seconds = timed(lambda: register(base, "during@example.com"))
            assert during.status_code == 503
            assert seconds < OUTAGE_BOUND_SECONDS
            assert httpx.get(f"{base}/health/ready", timeout=30).status_code == 503
            assert httpx.get(f"{base}/health", timeout=30).status_code == 200

            cluster.start()
            deadline = time.monotonic() + 15
            while httpx.get(f"{base}/health/ready", timeout=30).status_code != 200:
                assert time.monotonic() < deadline, "readiness never recovered"
                time.sleep(0.2)
            assert httpx.get(f"{base}/auth/profile", headers=headers).status_code == 200
            assert register(base, "after@example.com").status_code == 201

        with throwaway_app(cluster.url) as reader, reader.app_context():
            stored = {user.email for user in db.session.query(User)}
        assert set(acknowledged) | {"after@example.com"} <= stored
        assert "during@example.com" not in stored


def test_slow_queries_are_cancelled_by_statement_timeout(database, is_postgres, monkeypatch):
    if not is_postgres:
        pytest.skip("statement_timeout is a PostgreSQL setting")
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", "200")
    with throwaway_app(database.url) as application, application.app_context():
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"):
            db.session.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("fail_open", "expected"), [("true", 401), ("false", 503)], ids=["fail-open", "fail-closed"]
)
def test_redis_outage_bypasses_or_blocks_the_limiter_as_configured(
    app, database, fail_open, expected
):
    create_user(app, email="victim@example.com")
    with throwaway_redis() as cache:
        settings = {
            "REDIS_URL": cache.url,
            "RATELIMIT_STORAGE_URI": cache.url,
            "RATELIMIT_FAIL_OPEN": fail_open,
            "MAIL_BACKEND": "none",
        }
        with app_server(database.url, **settings) as base:
            body = {"email": "victim@example.com", "password": "wrong-password-000"}
            good = {"email": "victim@example.com", "password": PASSWORD}
            signed_in = httpx.post(f"{base}/api/v1/auth/login", json=good).json()["data"]
            headers = {"Authorization": f"Bearer {signed_in['access_token']}"}
            assert httpx.get(f"{base}/auth/profile", headers=headers).status_code == 200
            assert httpx.post(f"{base}/api/v1/auth/login", json=body).status_code == 401
            assert httpx.get(f"{base}/health/detailed").json()["status"] == "healthy"

            cache.stop()
            response, seconds = timed(
                lambda: httpx.post(f"{base}/api/v1/auth/login", json=body, timeout=30)
            )
            assert response.status_code == expected
            assert seconds < OUTAGE_BOUND_SECONDS
            detailed = httpx.get(f"{base}/health/detailed", timeout=30)
            assert detailed.status_code == 200
            assert detailed.json()["status"] == "degraded"
            assert httpx.get(f"{base}/api/v1/health").status_code == 200
            # The token-check cache is bypassed: the database answers instead.
            profile = httpx.get(f"{base}/auth/profile", headers=headers, timeout=30)
            assert profile.status_code == 200
