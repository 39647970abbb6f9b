"""Token authentication under /api/v1/auth (contract §3), every row and error code."""

import pytest

from models import AuthSession, User, db
from tests.factories import PASSWORD, USER_FIELDS, create_user, login, signed_in_user

pytestmark = pytest.mark.integration

NEW_PASSWORD = "another-Lantern-93-Quartz"


def error_code(response):
    return response.json["error"]["code"]


def test_login_answers_tokens_and_the_user(app, client):
    user = create_user(app, email="ada@example.com", name="Ada Lovelace")
    response = client.post(
        "/api/v1/auth/login", json={"email": " Ada@Example.COM ", "password": PASSWORD}
    )
    assert response.status_code == 200
    data = response.json["data"]
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 900
    assert data["access_token"].count(".") == 2
    assert len(data["refresh_token"]) >= 40
    assert data["user"]["id"] == user.id
    assert data["user"]["email"] == "ada@example.com"
    assert data["user"]["last_login_at"].endswith("Z")
    assert set(data["user"]) == USER_FIELDS


@pytest.mark.parametrize(
    ("email", "password"),
    [("ada@example.com", "wrong-password-123"), ("nobody@example.com", PASSWORD)],
    ids=["wrong-password", "unknown-email"],
)
def test_bad_credentials_get_the_same_answer(app, client, email, password):
    create_user(app, email="ada@example.com")
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 401
    assert response.json["error"] == {
        "code": "INVALID_CREDENTIALS",
        "message": "Invalid email or password",
        "details": {},
    }


def test_disabled_account_with_correct_password_is_403(app, client):
    create_user(app, email="off@example.com", is_active=False)
    response = client.post(
        "/api/v1/auth/login", json={"email": "off@example.com", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert error_code(response) == "ACCOUNT_DISABLED"


def test_disabled_account_with_wrong_password_is_401(app, client):
    create_user(app, email="off@example.com", is_active=False)
    response = client.post(
        "/api/v1/auth/login", json={"email": "off@example.com", "password": "nope-nope-nope"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["email", "password"]),
        ({"email": "not-an-email", "password": PASSWORD}, ["email"]),
        ({"email": "a@example.com", "password": PASSWORD, "remember": True}, ["remember"]),
        ([1, 2], ["body"]),
    ],
    ids=["missing", "bad-email", "unknown-field", "not-an-object"],
)
def test_login_validation_lists_every_field(client, body, fields):
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 400
    details = response.json["error"]["details"]
    assert error_code(response) == "VALIDATION_ERROR"
    assert [e["field"] for e in details["errors"]] == fields
    assert details["field"] == fields[0]


def test_login_without_json_content_type_is_415(client):
    response = client.post("/api/v1/auth/login", data="email=a&password=b")
    assert response.status_code == 415


def test_login_with_malformed_json_is_400(client):
    response = client.post("/api/v1/auth/login", data="{", content_type="application/json")
    assert error_code(response) == "BAD_REQUEST"


def test_access_token_opens_protected_routes(app, client):
    session = signed_in_user(app, client)
    response = client.get("/auth/profile", headers=session.headers)
    assert response.status_code == 200
    assert response.json["data"]["id"] == session.user_id


def test_protected_route_without_credentials_is_401(client):
    response = client.post("/api/v1/auth/logout", json={})
    assert response.status_code == 401
    assert error_code(response) == "AUTHENTICATION_REQUIRED"


def test_refresh_rotates_and_the_old_token_stops_working(app, client):
    session = signed_in_user(app, client)
    first = client.post("/api/v1/auth/refresh", json={"refresh_token": session.refresh_token})
    assert first.status_code == 200
    new_refresh = first.json["data"]["refresh_token"]
    assert new_refresh != session.refresh_token
    assert first.json["data"]["user"]["id"] == session.user_id

    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": session.refresh_token})
    assert replay.status_code == 401
    assert error_code(replay) == "INVALID_TOKEN"


def test_refresh_reuse_revokes_the_whole_login(app, client):
    session = signed_in_user(app, client)
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": session.refresh_token})
    newest = rotated.json["data"]

    client.post("/api/v1/auth/refresh", json={"refresh_token": session.refresh_token})

    again = client.post("/api/v1/auth/refresh", json={"refresh_token": newest["refresh_token"]})
    assert again.status_code == 401
    headers = {"Authorization": f"Bearer {newest['access_token']}"}
    assert client.get("/auth/profile", headers=headers).status_code == 401
    assert client.get("/auth/profile", headers=session.headers).status_code == 401


def test_reuse_does_not_touch_other_logins(app, client):
    user = create_user(app)
    phone = login(client, user.email)
    laptop = login(client, user.email)
    client.post("/api/v1/auth/refresh", json={"refresh_token": phone.refresh_token})
    client.post("/api/v1/auth/refresh", json={"refresh_token": phone.refresh_token})
    assert client.get("/auth/profile", headers=laptop.headers).status_code == 200


@pytest.mark.parametrize("token", ["garbage", "x" * 4096], ids=["unknown", "long"])
def test_unknown_refresh_token_is_401(client, token):
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": token})
    assert response.status_code == 401
    assert error_code(response) == "INVALID_TOKEN"


def test_logout_revokes_the_access_token_and_the_login_refresh_tokens(app, client):
    session = signed_in_user(app, client)
    response = client.post("/api/v1/auth/logout", json={}, headers=session.headers)
    assert response.status_code == 200
    assert response.json["data"] is None

    assert client.get("/auth/profile", headers=session.headers).status_code == 401
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": session.refresh_token})
    assert refreshed.status_code == 401
    again = client.post("/api/v1/auth/logout", json={}, headers=session.headers)
    assert error_code(again) == "INVALID_TOKEN"


def test_logout_with_a_refresh_token_of_another_own_login_ends_that_too(app, client):
    user = create_user(app)
    one = login(client, user.email)
    two = login(client, user.email)
    client.post(
        "/api/v1/auth/logout", json={"refresh_token": two.refresh_token}, headers=one.headers
    )
    assert client.get("/auth/profile", headers=two.headers).status_code == 401


def test_logout_cannot_end_someone_elses_login(app, client):
    mine = signed_in_user(app, client)
    theirs = signed_in_user(app, client)
    client.post(
        "/api/v1/auth/logout", json={"refresh_token": theirs.refresh_token}, headers=mine.headers
    )
    assert client.get("/auth/profile", headers=theirs.headers).status_code == 200


def test_change_password_keeps_this_login_and_ends_the_others(app, client):
    user = create_user(app)
    current = login(client, user.email)
    other = login(client, user.email)
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=current.headers,
    )
    assert response.status_code == 200
    assert client.get("/auth/profile", headers=current.headers).status_code == 200
    assert client.get("/auth/profile", headers=other.headers).status_code == 401
    assert (
        client.post("/api/v1/auth/refresh", json={"refresh_token": other.refresh_token}).status_code
        == 401
    )
    login(client, user.email, NEW_PASSWORD)


def test_change_password_with_wrong_current_password_changes_nothing(app, client):
    session = signed_in_user(app, client)
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        headers=session.headers,
    )
    assert response.status_code == 400
    assert response.json["error"]["details"]["field"] == "current_password"
    login(client, session.email)


def test_change_password_applies_the_password_policy(app, client):
    session = signed_in_user(app, client)
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=session.headers,
    )
    assert response.status_code == 400
    assert response.json["error"]["details"]["field"] == "new_password"


def test_login_records_last_login_and_a_session_row(app, client):
    user = create_user(app)
    login(client, user.email)
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.last_login_at is not None
        assert db.session.query(AuthSession).filter_by(user_id=user.id).count() == 1
