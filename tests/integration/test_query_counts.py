"""No N+1 and no repeated queries: the statements each main route sends to the database."""

from __future__ import annotations

import pytest

from tests.apps import count_queries
from tests.factories import create_user, login, signed_in_user

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(app, client):
    signed = signed_in_user(app, client, email="root@example.com", role="admin")
    # The session's first request stamps its last use (then at most once a minute,
    # services/session_activity.py): count the requests in between.
    client.get("/api/v1/users/me", headers=signed.headers)
    return signed


def test_get_user_is_one_query(app, client, admin):
    with count_queries(app) as statements:
        response = client.get(f"/api/v1/users/{admin.user_id}", headers=admin.headers)
    assert response.status_code == 200
    assert len(statements) == 1  # the row, with the token's session and user checked in it


@pytest.mark.parametrize("users", [1, 30])
def test_list_page_is_three_queries_whatever_its_size(app, client, admin, users):
    for number in range(users):
        create_user(app, email=f"u{number}@example.com")
    with count_queries(app) as statements:
        response = client.get("/api/v1/users?per_page=50", headers=admin.headers)
    assert response.status_code == 200
    assert len(response.json["data"]["items"]) == users + 1
    assert len(statements) == 3  # token check, count, page


def test_login_and_refresh_query_counts(app, client):
    user = create_user(app, email="login@example.com")
    with count_queries(app) as statements:
        tokens = login(client, user.email)
    # user, 2FA check, the user's earlier devices (new-device notice); last login + session +
    # audit row + refresh token writes
    assert len(statements) <= 7
    with count_queries(app) as statements:
        response = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens.refresh_token})
    assert response.status_code == 200
    assert len(statements) <= 5  # token, session, user, claim, new token
