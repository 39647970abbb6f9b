"""`/api/v1/users/me` (contract §9): the caller's own record, their language, self-delete."""

from __future__ import annotations

import pytest

from models import AuthSession, User, db
from services import audit_service
from tests.factories import create_user, login, signed_in_user
from tests.mail_server import configured

pytestmark = pytest.mark.integration


def code(response):
    return response.json["error"]["code"]


def test_get_me_answers_the_same_as_get_by_own_id(app, client):
    signed = signed_in_user(app, client, name="Ada")
    me = client.get("/api/v1/users/me", headers=signed.headers)
    by_id = client.get(f"/api/v1/users/{signed.user_id}", headers=signed.headers)
    assert me.status_code == 200
    assert me.json["data"] == by_id.json["data"]
    assert me.json["data"]["name"] == "Ada"
    assert me.json["data"]["locale"] is None


def test_me_needs_a_bearer_token(client):
    assert code(client.get("/api/v1/users/me")) == "AUTHENTICATION_REQUIRED"
    assert client.patch("/api/v1/users/me", json={"name": "X"}).status_code == 401
    assert client.delete("/api/v1/users/me").status_code == 401


def test_patch_me_changes_name_and_locale_and_null_follows_the_browser(app, client):
    signed = signed_in_user(app, client)
    response = client.patch(
        "/api/v1/users/me", json={"name": "Grace", "locale": "de"}, headers=signed.headers
    )
    assert response.status_code == 200, response.json
    assert response.json["data"]["locale"] == "de"
    assert client.get("/api/v1/users/me", headers=signed.headers).json["data"]["locale"] == "de"
    unchanged = client.patch("/api/v1/users/me", json={"name": "G"}, headers=signed.headers)
    assert unchanged.json["data"]["locale"] == "de", "a PATCH without locale keeps it"
    cleared = client.patch("/api/v1/users/me", json={"locale": None}, headers=signed.headers)
    assert cleared.json["data"]["locale"] is None
    with app.app_context():
        assert db.session.get(User, signed.user_id).locale is None


@pytest.mark.parametrize("value", ["fr", "EN", "", 1, "de-DE"])
def test_an_unknown_locale_is_a_validation_error_and_changes_nothing(app, client, value):
    signed = signed_in_user(app, client)
    client.patch("/api/v1/users/me", json={"locale": "en"}, headers=signed.headers)
    response = client.patch(
        "/api/v1/users/me", json={"locale": value, "name": "Changed"}, headers=signed.headers
    )
    assert response.status_code == 400
    assert code(response) == "VALIDATION_ERROR"
    assert response.json["error"]["details"]["field"] == "locale"
    data = client.get("/api/v1/users/me", headers=signed.headers).json["data"]
    assert data["locale"] == "en" and data["name"] != "Changed"


def test_an_admin_sets_another_users_locale(app, client):
    admin = signed_in_user(app, client, role="admin")
    user = create_user(app)
    response = client.patch(
        f"/api/v1/users/{user.id}", json={"locale": "de"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json["data"]["locale"] == "de"
    listed = client.get("/api/v1/users", headers=admin.headers).json["data"]["items"]
    assert {item["id"]: item["locale"] for item in listed}[user.id] == "de"


def test_patch_me_refuses_admin_fields_for_users(app, client):
    signed = signed_in_user(app, client)
    response = client.patch("/api/v1/users/me", json={"role": "admin"}, headers=signed.headers)
    assert response.status_code == 403 and code(response) == "FORBIDDEN"


def test_the_v1_user_shape_has_no_locale(app, client):
    signed = signed_in_user(app, client)
    client.patch("/api/v1/users/me", json={"locale": "de"}, headers=signed.headers)
    with app.app_context():
        legacy_id = db.session.get(User, signed.user_id).legacy_id
    response = client.get(f"/v1/users/{legacy_id}", headers=signed.headers)
    assert response.status_code == 200, response.json
    assert set(response.json) == {"id", "name", "email", "role", "isEmailVerified"}


def test_self_delete_is_refused_unless_the_setting_allows_it(app, client):
    signed = signed_in_user(app, client)
    for path in ("/api/v1/users/me", f"/api/v1/users/{signed.user_id}"):
        response = client.delete(path, headers=signed.headers)
        assert response.status_code == 403, path
        assert code(response) == "FORBIDDEN"
        assert "turned off" in response.json["error"]["message"]
    assert client.get("/api/v1/users/me", headers=signed.headers).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/users/me", "/api/v1/users/{id}"])
def test_allowed_self_delete_is_soft_and_ends_every_session(app, client, path):
    signed = signed_in_user(app, client)
    other = login(client, signed.email)
    with configured(app, ALLOW_SELF_DELETE=True):
        response = client.delete(path.format(id=signed.user_id), headers=signed.headers)
    assert response.status_code == 200, response.json
    assert response.json["data"] is None
    for token in (signed, other):
        assert code(client.get("/api/v1/users/me", headers=token.headers)) == "INVALID_TOKEN"
    with app.app_context():
        user = db.session.get(User, signed.user_id)
        assert user is not None and user.deleted_at is not None
        assert user.deleted_by == signed.user_id
        sessions = db.session.query(AuthSession).filter_by(user_id=signed.user_id).all()
        assert sessions and all(session.revoked_at is not None for session in sessions)
        events = [event.type for event in audit_service.recent_for_user(signed.user_id)]
        assert audit_service.USER_DELETED in events


def test_the_setting_still_lets_no_user_delete_another(app, client):
    signed = signed_in_user(app, client)
    victim = create_user(app)
    with configured(app, ALLOW_SELF_DELETE=True):
        response = client.delete(f"/api/v1/users/{victim.id}", headers=signed.headers)
    assert response.status_code == 403


def test_the_last_admin_cannot_delete_themself(app, client):
    admin = signed_in_user(app, client, role="admin")
    with configured(app, ALLOW_SELF_DELETE=True):
        response = client.delete("/api/v1/users/me", headers=admin.headers)
    assert response.status_code == 409 and code(response) == "CONFLICT"
