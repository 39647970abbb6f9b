"""Races: many clients at once against real server processes sharing one database."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from models import Role, User, db
from tests.factories import PASSWORD, create_user
from tests.processes import app_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def parallel(count, call):
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


@pytest.fixture
def server(app, database):
    settings = {"MAIL_BACKEND": "none", "RATELIMIT_ENABLED": "false"}
    with app_server(database.url, **settings) as base_url:
        yield base_url


def login(base, email):
    response = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_fifty_parallel_registrations_of_one_email_make_one_account(app, server):
    body = {"email": "race@example.com", "password": PASSWORD, "name": "Racer"}
    statuses = parallel(
        50, lambda: httpx.post(f"{server}/auth/register", json=body, timeout=30).status_code
    )
    assert statuses.count(201) == 1
    assert statuses.count(409) == 49
    with app.app_context():
        assert db.session.query(User).filter_by(email="race@example.com").count() == 1


def test_parallel_refreshes_of_one_token_have_one_winner(app, server):
    create_user(app, email="twin@example.com")
    tokens = login(server, "twin@example.com")
    body = {"refresh_token": tokens["refresh_token"]}
    statuses = parallel(
        20, lambda: httpx.post(f"{server}/api/v1/auth/refresh", json=body, timeout=30).status_code
    )
    assert statuses.count(200) == 1
    assert statuses.count(401) == 19


def test_concurrent_updates_of_different_fields_lose_nothing(app, server):
    admin = create_user(app, email="boss@example.com", role="admin")
    target = create_user(app, email="target@example.com", name="Before")
    headers = {"Authorization": f"Bearer {login(server, admin.email)['access_token']}"}
    url = f"{server}/api/v1/users/{target.id}"
    changes = [{"name": "After"}, {"role": "admin"}, {"is_active": False}] * 5
    with ThreadPoolExecutor(max_workers=len(changes)) as pool:
        statuses = list(
            pool.map(lambda c: httpx.patch(url, json=c, headers=headers, timeout=30), changes)
        )
    assert {r.status_code for r in statuses} == {200}, [
        r.text for r in statuses if r.status_code != 200
    ]
    with app.app_context():
        stored = db.session.get(User, target.id)
        assert (stored.name, stored.role, stored.is_active) == ("After", "admin", False)


def test_two_admins_demoting_each_other_at_once_leave_one(app, server, is_postgres):
    if not is_postgres:
        pytest.skip("row locks need PostgreSQL; SQLite is the single-user development default")
    first = create_user(app, email="a1@example.com", role="admin")
    second = create_user(app, email="a2@example.com", role="admin")
    pairs = [
        (login(server, first.email)["access_token"], second.id),
        (login(server, second.email)["access_token"], first.id),
    ]

    def demote(pair):
        token, victim = pair
        return httpx.patch(
            f"{server}/api/v1/users/{victim}",
            json={"role": "user"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(demote, pairs))
    assert statuses in ([200, 401], [200, 403], [200, 409])
    with app.app_context():
        admins = db.session.query(User).filter_by(role=Role.ADMIN.value, is_active=True).count()
    assert admins == 1


def test_logout_on_one_replica_is_honoured_by_another_at_once(app, database, server):
    create_user(app, email="roam@example.com")
    with app_server(database.url, MAIL_BACKEND="none") as other:
        tokens = login(server, "roam@example.com")
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert httpx.get(f"{other}/auth/profile", headers=headers).status_code == 200
        assert (
            httpx.post(f"{server}/api/v1/auth/logout", json={}, headers=headers).status_code == 200
        )
        assert httpx.get(f"{other}/auth/profile", headers=headers).status_code == 401
        refreshed = httpx.post(
            f"{other}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 401
