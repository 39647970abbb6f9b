"""User management under /api/v1/users (contract §4): rights, validation, listing, soft delete."""

import pytest

from models import User, db
from tests.factories import PASSWORD, create_user, login, signed_in_user

pytestmark = pytest.mark.integration

NEW_PASSWORD = "another-Lantern-93-Quartz"


@pytest.fixture
def admin(app, client):
    return signed_in_user(app, client, email="root@example.com", role="admin", name="Root")


@pytest.fixture
def member(app, client):
    return signed_in_user(app, client, email="member@example.com", name="Member")


def code(response):
    return response.json["error"]["code"]


# --- create ---------------------------------------------------------------------------------


def test_admin_creates_a_user(client, admin):
    response = client.post(
        "/api/v1/users",
        json={"email": "New@Example.com", "password": PASSWORD, "name": "  New Person  "},
        headers=admin.headers,
    )
    assert response.status_code == 201
    data = response.json["data"]
    assert data["email"] == "new@example.com"
    assert data["name"] == "New Person"
    assert data["role"] == "user"
    assert "password" not in data and "password_hash" not in data
    login(client, "new@example.com")


def test_admin_creates_an_admin(client, admin):
    response = client.post(
        "/api/v1/users",
        json={"email": "a2@example.com", "password": PASSWORD, "name": "A2", "role": "admin"},
        headers=admin.headers,
    )
    assert response.json["data"]["role"] == "admin"


def test_duplicate_email_differing_only_in_case_is_409(client, admin, member):
    response = client.post(
        "/api/v1/users",
        json={"email": "MEMBER@example.com", "password": PASSWORD, "name": "Twin"},
        headers=admin.headers,
    )
    assert response.status_code == 409
    assert code(response) == "CONFLICT"


def test_member_cannot_create_users(client, member):
    response = client.post(
        "/api/v1/users",
        json={"email": "x@example.com", "password": PASSWORD, "name": "X"},
        headers=member.headers,
    )
    assert response.status_code == 403
    assert code(response) == "FORBIDDEN"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "x@example.com", "password": "short", "name": "X"}, "password"),
        ({"email": "x@example.com", "password": "123456789012", "name": "X"}, "password"),
        ({"email": "x@example.com", "password": "X@Example.com", "name": "X"}, "password"),
        ({"email": "x@example.com", "password": "p" * 129, "name": "X"}, "password"),
        ({"email": "x@example.com", "password": PASSWORD, "name": "   "}, "name"),
        ({"email": "x@example.com", "password": PASSWORD, "name": "n" * 101}, "name"),
        ({"email": "x@", "password": PASSWORD, "name": "X"}, "email"),
        ({"email": "x@example.com", "password": PASSWORD, "name": "X", "role": "root"}, "role"),
        ({"email": "x@example.com", "password": PASSWORD, "name": "X", "id": 7}, "id"),
    ],
    ids=[
        "short-password",
        "common-password",
        "password-is-email",
        "long-password",
        "blank-name",
        "long-name",
        "bad-email",
        "unknown-role",
        "unknown-field",
    ],
)
def test_create_validation(app, client, admin, body, field):
    response = client.post("/api/v1/users", json=body, headers=admin.headers)
    assert response.status_code == 400
    assert code(response) == "VALIDATION_ERROR"
    assert response.json["error"]["details"]["field"] == field
    with app.app_context():
        assert db.session.query(User).count() == 1, "nothing was stored"


# --- read -----------------------------------------------------------------------------------


def test_user_reads_themself(client, member):
    response = client.get(f"/api/v1/users/{member.user_id}", headers=member.headers)
    assert response.status_code == 200
    assert response.json["data"]["email"] == "member@example.com"


def test_user_cannot_read_another_user(client, admin, member):
    response = client.get(f"/api/v1/users/{admin.user_id}", headers=member.headers)
    assert response.status_code == 403


def test_user_probing_a_missing_id_gets_403_not_404(client, member):
    assert client.get("/api/v1/users/999999", headers=member.headers).status_code == 403


def test_admin_reads_anyone_and_missing_is_404(client, admin, member):
    assert client.get(f"/api/v1/users/{member.user_id}", headers=admin.headers).status_code == 200
    response = client.get("/api/v1/users/999999", headers=admin.headers)
    assert response.status_code == 404
    assert code(response) == "NOT_FOUND"


@pytest.mark.parametrize("target", ["themself", "another", "missing"])
@pytest.mark.parametrize("ending", ["logout", "deactivation", "deletion"])
def test_get_by_id_refuses_an_ended_caller_whatever_it_asks_for(
    client, admin, member, target, ending
):
    # get-by-id checks the token's session and user in the statement that reads the row.
    user_id = {"themself": member.user_id, "another": admin.user_id, "missing": 999999}[target]
    if ending == "logout":
        ended = client.post("/api/v1/auth/logout", json={}, headers=member.headers)
    elif ending == "deactivation":
        url = f"/api/v1/users/{member.user_id}"
        ended = client.patch(url, json={"is_active": False}, headers=admin.headers)
    else:
        ended = client.delete(f"/api/v1/users/{member.user_id}", headers=admin.headers)
    assert ended.status_code == 200
    response = client.get(f"/api/v1/users/{user_id}", headers=member.headers)
    assert response.status_code == 401
    assert code(response) == "INVALID_TOKEN"


def test_get_by_id_of_an_admin_still_sees_the_others(client, admin, member):
    # The statement joins the target only where the policy allows it: an admin sees anyone.
    response = client.get(f"/api/v1/users/{member.user_id}", headers=admin.headers)
    assert response.json["data"]["email"] == "member@example.com"
    assert client.get(f"/api/v1/users/{admin.user_id}", headers=admin.headers).status_code == 200


def test_users_routes_need_a_token(client):
    assert code(client.get("/api/v1/users")) == "AUTHENTICATION_REQUIRED"
    assert code(client.get("/api/v1/users/1")) == "AUTHENTICATION_REQUIRED"
    garbled = {"Authorization": "Bearer not-a-token"}
    assert code(client.get("/api/v1/users/1", headers=garbled)) == "INVALID_TOKEN"


# --- update ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
def test_user_renames_themself(client, member, method):
    response = getattr(client, method)(
        f"/api/v1/users/{member.user_id}", json={"name": "Renamed"}, headers=member.headers
    )
    assert response.status_code == 200
    assert response.json["data"]["name"] == "Renamed"
    assert response.json["data"]["email"] == "member@example.com"


@pytest.mark.parametrize("field", [{"role": "admin"}, {"is_active": False}])
def test_member_sending_role_or_is_active_is_403_and_changes_nothing(app, client, member, field):
    response = client.patch(
        f"/api/v1/users/{member.user_id}", json={"name": "X", **field}, headers=member.headers
    )
    assert response.status_code == 403
    with app.app_context():
        stored = db.session.get(User, member.user_id)
        assert (stored.role, stored.is_active, stored.name) == ("user", True, "Member")


def test_member_cannot_update_another_user(client, admin, member):
    response = client.patch(
        f"/api/v1/users/{admin.user_id}", json={"name": "Hacked"}, headers=member.headers
    )
    assert response.status_code == 403


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
@pytest.mark.parametrize("extra", [{}, {"current_password": PASSWORD}])
def test_own_email_changes_only_through_the_confirmed_flow(app, client, member, method, extra):
    url = f"/api/v1/users/{member.user_id}"
    body = {"email": "new@example.com", "name": "Renamed", **extra}
    response = client.open(url, method=method, json=body, headers=member.headers)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["field"] == "email"
    assert "/api/v1/auth/email" in error["details"]["error"]
    with app.app_context():
        stored = db.session.get(User, member.user_id)
        assert (stored.email, stored.name) == (member.email, "Member")


def test_sending_the_unchanged_own_email_is_no_change(client, member):
    response = client.patch(
        f"/api/v1/users/{member.user_id}",
        json={"email": member.email.upper(), "name": "Renamed"},
        headers=member.headers,
    )
    assert response.status_code == 200
    assert response.json["data"]["email"] == member.email


def test_admin_email_change_to_a_taken_address_is_409(client, admin, member):
    response = client.patch(
        f"/api/v1/users/{member.user_id}", json={"email": "ROOT@example.com"}, headers=admin.headers
    )
    assert response.status_code == 409


def test_changing_own_password_ends_other_logins_only(app, client, member):
    other = login(client, member.email)
    response = client.patch(
        f"/api/v1/users/{member.user_id}",
        json={"password": NEW_PASSWORD, "current_password": PASSWORD},
        headers=member.headers,
    )
    assert response.status_code == 200
    assert client.get("/auth/profile", headers=member.headers).status_code == 200
    assert client.get("/auth/profile", headers=other.headers).status_code == 401
    login(client, member.email, NEW_PASSWORD)


def test_admin_resets_a_password_without_knowing_it(client, admin, member):
    response = client.patch(
        f"/api/v1/users/{member.user_id}", json={"password": NEW_PASSWORD}, headers=admin.headers
    )
    assert response.status_code == 200
    assert client.get("/auth/profile", headers=member.headers).status_code == 401
    login(client, member.email, NEW_PASSWORD)


def test_admin_promotes_and_deactivates(client, admin, member):
    url = f"/api/v1/users/{member.user_id}"
    promoted = client.patch(url, json={"role": "admin"}, headers=admin.headers)
    assert promoted.json["data"]["role"] == "admin"
    disabled = client.put(url, json={"is_active": False}, headers=admin.headers)
    assert disabled.json["data"]["is_active"] is False
    assert client.get("/auth/profile", headers=member.headers).status_code == 401
    relogin = client.post("/api/v1/auth/login", json={"email": member.email, "password": PASSWORD})
    assert code(relogin) == "ACCOUNT_DISABLED"


@pytest.mark.parametrize("change", [{"role": "user"}, {"is_active": False}])
def test_last_active_admin_cannot_be_demoted_or_disabled(client, admin, change):
    response = client.patch(f"/api/v1/users/{admin.user_id}", json=change, headers=admin.headers)
    assert response.status_code == 409


def test_an_admin_can_step_down_when_another_remains(app, client, admin):
    create_user(app, role="admin")
    response = client.patch(
        f"/api/v1/users/{admin.user_id}", json={"role": "user"}, headers=admin.headers
    )
    assert response.status_code == 200


def test_update_validation_changes_nothing(app, client, member):
    response = client.patch(
        f"/api/v1/users/{member.user_id}",
        json={"name": "", "nickname": "x"},
        headers=member.headers,
    )
    assert response.status_code == 400
    fields = [e["field"] for e in response.json["error"]["details"]["errors"]]
    assert fields == ["name", "nickname"]


# --- delete ---------------------------------------------------------------------------------


def test_admin_soft_deletes_a_user(app, client, admin, member):
    response = client.delete(f"/api/v1/users/{member.user_id}", headers=admin.headers)
    assert response.status_code == 200
    assert response.json["data"] is None
    assert client.get(f"/api/v1/users/{member.user_id}", headers=admin.headers).status_code == 404
    assert client.get("/auth/profile", headers=member.headers).status_code == 401
    assert (
        client.post(
            "/api/v1/auth/refresh", json={"refresh_token": member.refresh_token}
        ).status_code
        == 401
    )
    with app.app_context():
        row = db.session.get(User, member.user_id)
        assert row is not None
        assert row.deleted_by == admin.user_id
        assert row.deleted_at is not None
    deleted_again = client.delete(f"/api/v1/users/{member.user_id}", headers=admin.headers)
    assert deleted_again.status_code == 404


def test_deleted_users_email_can_register_again(client, admin, member):
    client.delete(f"/api/v1/users/{member.user_id}", headers=admin.headers)
    response = client.post(
        "/api/v1/users",
        json={"email": member.email, "password": PASSWORD, "name": "Back"},
        headers=admin.headers,
    )
    assert response.status_code == 201


def test_member_cannot_delete(client, admin, member):
    assert (
        client.delete(f"/api/v1/users/{member.user_id}", headers=member.headers).status_code == 403
    )


def test_last_admin_cannot_delete_themself(client, admin):
    assert client.delete(f"/api/v1/users/{admin.user_id}", headers=admin.headers).status_code == 409
