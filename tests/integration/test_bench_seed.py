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


@pytest.mark.parametrize("reference", ["bare_flask", "raw_wsgi"])
def test_references_serve_the_seeded_rows_as_the_app_does(
    app, client, database, is_postgres, reference
):
    """The framework floor and the raw limit answer the benchmarked routes with the app's rows:
    were they to serve errors or empty pages, the ratios `make bench` reports would be wrong."""
    if not is_postgres:
        pytest.skip("the benchmark seeds PostgreSQL with COPY")
    from werkzeug.test import Client

    from tests.performance.reference import bare_flask, raw_wsgi

    url = database.url.replace("postgresql+psycopg://", "postgresql://")
    seed.seed_users(url, 3, seed.production_hash(seed.PASSWORD))
    sessions = seed.open_sessions(url, range(1, 4))
    secret, name = app.config["JWT_SECRET_KEY"], app.config["APP_NAME"]
    admin = {"Authorization": f"Bearer {seed.access_token(secret, 1, sessions[1], name)}"}
    user = {"Authorization": f"Bearer {seed.access_token(secret, 2, sessions[2], name)}"}
    pool = raw_wsgi.open_pool(url)
    try:
        module = bare_flask if reference == "bare_flask" else raw_wsgi
        bare = Client(module.create_app(pool))
        own = bare.get("/api/v1/users/2", headers={"Authorization": "Bearer not-checked"})
        assert own.status_code == 200
        assert own.json["data"] == client.get("/api/v1/users/2", headers=user).json["data"]
        assert own.json["data"]["email"] == "user2@bench.example.com"
        page = bare.get("/api/v1/users?page=1", headers=admin)
        expected = client.get("/api/v1/users?page=1", headers=admin).json["data"]
        assert page.status_code == 200
        assert page.json["data"]["items"] == expected["items"]
        assert page.json["data"]["pagination"]["total"] == expected["pagination"]["total"] == 3
        assert bare.get("/api/v1/users/99", headers=admin).status_code == 404
    finally:
        pool.close()
