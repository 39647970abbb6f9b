"""Hostile input gets the contract's error and changes nothing."""

import logging

import pytest

from models import User, db
from tests.factories import PASSWORD, create_user, signed_in_user

pytestmark = pytest.mark.integration

PAYLOADS = [
    "<script>alert(1)</script>",
    "Robert'); DROP TABLE users;--",
    "' OR 1=1 --",
    "{{ 7*7 }}",
    "ümlaut ✓ \U0001d518nicode",
]


def user_count(app):
    with app.app_context():
        return db.session.query(User).count()


def register(client, **fields):
    body = {"email": "h@example.com", "password": PASSWORD, "name": "H"} | fields
    return client.post("/auth/register", json=body)


@pytest.fixture(autouse=True)
def _no_mail(app):
    app.config["MAIL_BACKEND"] = "none"
    yield
    app.config["MAIL_BACKEND"] = "console"


@pytest.mark.parametrize("field", ["email", "password", "name"])
def test_nul_bytes_are_400_not_500(app, client, field):
    response = register(client, **{field: "a\x00b@example.com"})
    assert response.status_code == 400
    assert response.json["error"]["details"]["field"] == field
    assert user_count(app) == 0


def test_nul_in_a_query_parameter_is_400(app, client):
    admin = signed_in_user(app, client, role="admin")
    response = client.get("/api/v1/users?q=a%00b", headers=admin.headers)
    assert response.status_code == 400


@pytest.mark.parametrize("field", ["email", "password", "name"])
def test_huge_strings_are_refused_by_field(app, client, field):
    response = register(client, **{field: "x" * 900_000})
    assert response.status_code == 400
    assert response.json["error"]["details"]["field"] == field
    assert user_count(app) == 0


def test_huge_tokens_are_refused(client):
    for path in ("/api/v1/auth/refresh", "/api/v1/auth/verify-email"):
        key = "refresh_token" if path.endswith("refresh") else "token"
        response = client.post(path, json={key: "t" * 900_000})
        assert response.status_code == 400


def test_invalid_utf8_body_is_400(client):
    response = client.post(
        "/api/v1/auth/login",
        data=b'{"email": "\xff\xfe@example.com", "password": "x"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null", "true"])
def test_non_object_bodies_are_400(client, body):
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markup_and_sql_are_stored_verbatim(app, client, payload):
    response = register(client, name=payload)
    assert response.status_code == 201
    assert response.json["data"]["name"] == payload.strip()
    with app.app_context():
        assert db.session.query(User).one().name == payload.strip()


def test_sql_in_search_is_just_text(app, client):
    create_user(app, email="a@example.com", name="Alice")
    admin = signed_in_user(app, client, role="admin")
    response = client.get("/api/v1/users?q=' OR 1=1 --", headers=admin.headers)
    assert response.status_code == 200
    assert response.json["data"]["items"] == []


def test_type_confusion_is_400(client):
    response = client.post(
        "/api/v1/auth/login", json={"email": ["a@example.com"], "password": {"$ne": None}}
    )
    assert response.status_code == 400
    fields = [e["field"] for e in response.json["error"]["details"]["errors"]]
    assert fields == ["email", "password"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/../config.py",
        "/static/%2e%2e/config.py",
        "/static/..%2fconfig.py",
        "/docs/assets/../../../../../etc/passwd",
        "/docs/assets/%2e%2e/%2e%2e/openapi.py",
        "/static//etc/passwd",
    ],
)
def test_path_traversal_on_static_routes_is_404(client, path):
    # Werkzeug may first redirect `//` to `/`; wherever it lands, it is a 404, never a file.
    with client.get(path, follow_redirects=True) as response:
        assert response.status_code == 404
        assert b"SECRET_KEY" not in response.data
        assert b"root:" not in response.data


def test_request_id_cannot_inject_headers(client):
    response = client.get("/health", headers={"X-Request-ID": "abc: evil; Set-Cookie=x"})
    assert response.headers["X-Request-ID"] != "abc: evil; Set-Cookie=x"
    assert "Set-Cookie" not in response.headers


def test_database_errors_never_log_bound_parameters(app, client, caplog):
    """A failing statement's log carries no parameter values (hashes, emails)."""
    with caplog.at_level(logging.DEBUG):
        create_user(app, email="dup@example.com")
        admin = signed_in_user(app, client, role="admin")
        client.post(
            "/api/v1/users",
            json={"email": "dup@example.com", "password": PASSWORD, "name": "Dup"},
            headers=admin.headers,
        )
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    assert "$argon2id$" not in caplog.text
