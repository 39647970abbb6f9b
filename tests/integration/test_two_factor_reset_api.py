"""`POST /api/v1/users/{id}/2fa/reset` (contract §9): administrators turn a user's second factor
off; the user's sessions end; the reset is audited with the acting admin."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditEvent, UserMfa, db
from tests.factories import PASSWORD, create_user, signed_in_user
from tests.integration.test_mfa_api import enrol

pytestmark = pytest.mark.integration


def path(user_id: int) -> str:
    return f"/api/v1/users/{user_id}/2fa/reset"


def test_admin_resets_two_factor_and_the_user_signs_in_with_the_password_alone(app, client):
    admin = signed_in_user(app, client, role="admin")
    user = signed_in_user(app, client)
    enrol(client, user)

    response = client.post(path(user.user_id), headers=admin.headers)

    assert response.status_code == 200, response.json
    assert response.json["data"]["id"] == user.user_id
    assert response.json["data"]["email"] == user.email
    # The token from before the reset is dead; the password alone signs in now.
    assert client.get("/auth/profile", headers=user.headers).status_code == 401
    again = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert "access_token" in again.json["data"]
    with app.app_context():
        assert db.session.get(UserMfa, user.user_id) is None
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.type == "mfa.reset")).one()
        assert (event.actor_id, event.subject_id) == (admin.user_id, user.user_id)
        assert event.details == {"was_enabled": True}


def test_a_user_without_two_factor_is_reset_too(app, client):
    admin = signed_in_user(app, client, role="admin")
    user = create_user(app)
    response = client.post(path(user.id), headers=admin.headers)
    assert response.status_code == 200
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.type == "mfa.reset")).one()
        assert event.details == {"was_enabled": False}


def test_non_admins_cannot_reset_anyones_two_factor(app, client):
    user = signed_in_user(app, client)
    enrol(client, user)
    for target in (user.user_id, create_user(app).id):
        response = client.post(path(target), headers=user.headers)
        assert response.status_code == 403
        assert response.json["error"]["code"] == "FORBIDDEN"
    with app.app_context():
        assert db.session.get(UserMfa, user.user_id) is not None


def test_unknown_deleted_and_anonymous(app, client):
    admin = signed_in_user(app, client, role="admin")
    gone = create_user(app)
    assert client.delete(f"/api/v1/users/{gone.id}", headers=admin.headers).status_code == 200
    for target in (gone.id, 999_999, 10**30):
        response = client.post(path(target), headers=admin.headers)
        assert response.status_code == 404, target
        assert response.json["error"]["code"] == "NOT_FOUND"
    assert client.post(path(admin.user_id)).status_code == 401
