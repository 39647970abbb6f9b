"""Cross-origin requests (contract §9, web_cors.py): /api/v1 for the listed origins only, /v1 as
the old service, never on the cookie routes; the origin settings are checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from config import DevelopmentConfig, ProductionConfig
from tests import databases
from tests.apps import dispose_engines, make_app
from tests.factories import HTML, signed_in_user

pytestmark = pytest.mark.integration

LISTED = "https://app.example.com"
OTHER = "https://evil.example.net"
ALLOW_ORIGIN = "Access-Control-Allow-Origin"


def cors_app(database: databases.TestDatabase, **environment: str) -> Flask:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        return make_app(database.url)


@pytest.fixture(scope="module")
def listed_app(app: Flask, database: databases.TestDatabase) -> Iterator[Flask]:
    """The application with two listed origins and a short preflight cache."""
    application = cors_app(
        database, CORS_ORIGINS=f"{LISTED}, http://localhost:8080", CORS_MAX_AGE="600"
    )
    yield application
    dispose_engines(application)


def cors_headers(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [name for name, _ in response.headers.items() if name.startswith("Access-Control")]


def preflight(client, path: str, origin: str, method: str = "GET", headers: str = ""):  # type: ignore[no-untyped-def]
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    return client.options(path, headers=request_headers)


@pytest.fixture(scope="module")
def single_origin_app(app: Flask, database: databases.TestDatabase) -> Iterator[Flask]:
    """The application with one listed origin (Flask-CORS alone sends no `Vary` then)."""
    application = cors_app(database, CORS_ORIGINS=LISTED)
    yield application
    dispose_engines(application)


def varies_on(response) -> list[str]:  # type: ignore[no-untyped-def]
    """Every name the answer's `Vary` headers list (all of its lines)."""
    return [name.strip() for line in response.headers.getlist("Vary") for name in line.split(",")]


def test_a_listed_origin_reads_the_api_with_a_bearer_token(app, listed_app):
    client = listed_app.test_client()
    caller = signed_in_user(app, client)
    response = client.get(
        f"/api/v1/users/{caller.user_id}", headers={**caller.headers, "Origin": LISTED}
    )
    assert response.status_code == 200
    assert response.headers[ALLOW_ORIGIN] == LISTED
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers["Vary"]
    exposed = response.headers["Access-Control-Expose-Headers"]
    for name in ("X-Request-ID", "Retry-After", "X-RateLimit-Remaining"):
        assert name in exposed


def test_the_preflight_is_answered_and_cacheable(listed_app):
    response = preflight(
        listed_app.test_client(), "/api/v1/users/1", LISTED, "PATCH", "authorization,content-type"
    )
    assert response.status_code == 200
    assert response.headers[ALLOW_ORIGIN] == LISTED
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_origins_match_without_regard_to_case(listed_app):
    response = listed_app.test_client().get("/api/v1/health", headers={"Origin": LISTED.upper()})
    assert response.headers[ALLOW_ORIGIN] == LISTED.upper()


@pytest.mark.parametrize(
    "origin", [OTHER, "null", "https://app.example.com.evil.net", "http://app.example.com"]
)
def test_other_origins_get_no_grant(listed_app, origin):
    client = listed_app.test_client()
    assert ALLOW_ORIGIN not in client.get("/api/v1/health", headers={"Origin": origin}).headers
    refused = preflight(client, "/api/v1/users/1", origin, "DELETE", "authorization")
    assert ALLOW_ORIGIN not in refused.headers
    assert "Access-Control-Allow-Methods" not in refused.headers


def test_a_request_without_origin_gets_no_cors_header(listed_app):
    response = listed_app.test_client().get("/api/v1/health")
    assert not cors_headers(response)


def test_an_unlisted_request_header_is_not_allowed(listed_app):
    response = preflight(listed_app.test_client(), "/api/v1/users", LISTED, "POST", "x-secret")
    assert "x-secret" not in response.headers.get("Access-Control-Allow-Headers", "").lower()


def test_errors_carry_the_grant_too(listed_app):
    """A browser script must be able to read a 401 or 404 envelope to act on it."""
    client = listed_app.test_client()
    assert client.get("/api/v1/users/1", headers={"Origin": LISTED}).headers[ALLOW_ORIGIN] == LISTED
    assert client.get("/api/v1/nope", headers={"Origin": LISTED}).headers[ALLOW_ORIGIN] == LISTED


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/auth/login", HTML),
        ("/auth/login", {}),
        ("/auth/profile", HTML),
        ("/admin", HTML),
        ("/", HTML),
        ("/health", {}),
        ("/docs", HTML),
        ("/openapi.json", {}),
    ],
)
def test_cookie_routes_and_pages_never_send_cors_headers(listed_app, path, headers):
    client = listed_app.test_client()
    for origin in (LISTED, OTHER, "null"):
        response = client.get(path, headers={**headers, "Origin": origin})
        assert not cors_headers(response)
        response = preflight(client, path, origin, "POST", "content-type")
        assert not cors_headers(response)


@pytest.mark.parametrize("origin", [LISTED, OTHER, None])
def test_with_one_listed_origin_every_api_answer_varies_on_origin(single_origin_app, origin):
    """A shared cache must not hand one origin's answer (or a no-Origin one) to another."""
    client = single_origin_app.test_client()
    headers = {"Origin": origin} if origin else {}
    answers = [
        client.get("/api/v1/health", headers=headers),
        client.get("/api/v1/users/1", headers=headers),
        client.options(
            "/api/v1/users/1", headers={**headers, "Access-Control-Request-Method": "GET"}
        ),
    ]
    for response in answers:
        assert varies_on(response).count("Origin") == 1
    assert (answers[0].headers.get(ALLOW_ORIGIN) == LISTED) == (origin == LISTED)


@pytest.mark.parametrize("origin", [OTHER, None])
def test_legacy_answers_vary_on_origin_and_other_paths_do_not(client, origin):
    """/v1 grants `*` only to requests with Origin, so its answers depend on it too."""
    headers = {"Origin": origin} if origin else {}
    assert varies_on(client.get("/v1/users", headers=headers)).count("Origin") == 1
    for path in ("/health", "/auth/login", "/api/v1/health"):  # CORS_ORIGINS empty here
        assert "Origin" not in varies_on(client.get(path, headers={**HTML, **headers}))


def test_without_listed_origins_the_api_answers_no_origin(client):
    """CORS_ORIGINS empty (the default): no site may call /api/v1."""
    assert ALLOW_ORIGIN not in client.get("/api/v1/health", headers={"Origin": LISTED}).headers
    assert ALLOW_ORIGIN not in preflight(client, "/api/v1/health", LISTED).headers


def test_the_legacy_api_answers_any_origin_like_the_old_service(client):
    response = client.post(
        "/v1/auth/login",
        json={"email": "a@example.com", "password": "x"},
        headers={"Origin": OTHER},
    )
    assert response.status_code in (400, 401)
    assert response.headers[ALLOW_ORIGIN] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    answered = preflight(client, "/v1/users/abc", OTHER, "PUT", "authorization,x-client-version")
    assert answered.headers[ALLOW_ORIGIN] == "*"
    assert "PUT" in answered.headers["Access-Control-Allow-Methods"]
    assert answered.headers["Access-Control-Allow-Headers"] == "authorization, x-client-version"
    assert answered.headers["Access-Control-Max-Age"] == "7200"


def test_legacy_origins_narrow_the_old_api(app, database):
    narrowed = cors_app(database, LEGACY_CORS_ORIGINS=LISTED)
    try:
        client = narrowed.test_client()
        assert client.get("/v1/users", headers={"Origin": LISTED}).headers[ALLOW_ORIGIN] == LISTED
        assert ALLOW_ORIGIN not in client.get("/v1/users", headers={"Origin": OTHER}).headers
        assert ALLOW_ORIGIN not in client.get("/v1/users", headers={"Origin": "null"}).headers
        assert ALLOW_ORIGIN not in client.get("/api/v1/health", headers={"Origin": LISTED}).headers
    finally:
        dispose_engines(narrowed)


def test_without_the_legacy_api_no_cors_is_registered(app, database):
    closed = cors_app(database, LEGACY_API_ENABLED="false")
    try:
        response = closed.test_client().get("/v1/users", headers={"Origin": OTHER})
        assert response.status_code == 404
        assert ALLOW_ORIGIN not in response.headers
    finally:
        dispose_engines(closed)


@pytest.mark.parametrize(
    "value",
    [
        "*",
        "null",
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "ftp://app.example.com",
        "https://*.example.com",
        "https://app.example.com:99999x",
    ],
)
def test_origin_settings_refuse_what_is_not_an_origin(value):
    problems = ProductionConfig({"CORS_ORIGINS": f"https://ok.example.com,{value}"}).validate()
    assert any(problem.startswith("CORS_ORIGINS must list origins") for problem in problems)
    legacy = DevelopmentConfig({"LEGACY_CORS_ORIGINS": value}).validate()
    assert (value == "*") != any(p.startswith("LEGACY_CORS_ORIGINS") for p in legacy)


def test_origin_settings_are_normalised():
    settings = DevelopmentConfig(
        {
            "CORS_ORIGINS": " https://App.Example.com , http://[::1]:3000,",
            "LEGACY_CORS_ORIGINS": " * ",
        }
    )
    assert settings.CORS_ORIGINS == "https://app.example.com,http://[::1]:3000"
    assert settings.LEGACY_CORS_ORIGINS == "*"
    assert settings.validate() == []
