"""`make bench` seeds PostgreSQL behind the app's back (COPY): its rows and tokens must be ones the
app accepts, or the benchmark measures error pages. Runs on the PostgreSQL run."""

import psycopg
import pytest

from tests.performance import seed

pytestmark = pytest.mark.integration


def test_seeded_users_sessions_and_tokens_are_served(app, client, database, is_postgres):
    if not is_postgres:
        pytest.skip("the benchmark seeds PostgreSQL with COPY")
    url = database.url.replace("postgresql+psycopg://", "postgresql://")
    seed.seed_users(url, 3, seed.production_hash(seed.PASSWORD))
    with psycopg.connect(url) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM users ORDER BY id")]
    sessions = seed.open_sessions(url, ids)
    token = seed.access_token(
        app.config["JWT_SECRET_KEY"], ids[1], sessions[ids[1]], app.config["APP_NAME"]
    )
    response = client.get(f"/api/v1/users/{ids[1]}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.json
    assert response.json["data"]["email"] == "user2@bench.example.com"
    login = client.post(
        "/api/v1/auth/login", json={"email": "user3@bench.example.com", "password": seed.PASSWORD}
    )
    assert login.status_code == 200, login.json
