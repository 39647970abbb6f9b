"""Values must have the type the contract names: a JSON `0` is not `false`, a number is not a
time, `1.0` is not a page. (Pydantic's lax mode converted all of these silently.)"""

import pytest

from models import User, db
from tests.factories import signed_in_user

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(app, client):
    return signed_in_user(app, client, email="root@example.com", role="admin", name="Root")


@pytest.fixture
def member(app, client):
    return signed_in_user(app, client, email="member@example.com", name="Member")


def validation_field(response):
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "VALIDATION_ERROR"
    return response.json["error"]["details"]["field"]


@pytest.mark.parametrize("value", [0, 1, "false", "true", "", 0.0, [], {}])
def test_is_active_must_be_a_json_boolean(app, client, admin, member, value):
    response = client.patch(
        f"/api/v1/users/{member.user_id}", json={"is_active": value}, headers=admin.headers
    )

    assert validation_field(response) == "is_active"
    with app.app_context():
        assert db.session.get(User, member.user_id).is_active is True


@pytest.mark.parametrize("value", [False, True, None])
def test_is_active_takes_json_booleans_and_null(client, admin, member, value):
    response = client.patch(
        f"/api/v1/users/{member.user_id}", json={"is_active": value}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json["data"]["is_active"] is (value is not False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 7}, "name"),
        ({"name": True}, "name"),
        ({"email": 7}, "email"),
        ({"role": 1}, "role"),
    ],
)
def test_string_fields_refuse_other_json_types(client, admin, member, body, field):
    response = client.patch(f"/api/v1/users/{member.user_id}", json=body, headers=admin.headers)
    assert validation_field(response) == field


def test_login_refuses_a_numeric_password(client, member):
    response = client.post("/api/v1/auth/login", json={"email": member.email, "password": 12})
    assert validation_field(response) == "password"


@pytest.mark.parametrize(
    "query",
    [
        "since=0.5",
        "since=1700000000",
        "until=0",
        "since=-1",
        "since=2026",
        "until=2026-01-01T00:00:00Z%20",
        "since=1e9",
    ],
)
def test_audit_times_must_be_iso_8601(client, admin, query):
    response = client.get(f"/api/v1/audit-events?{query}", headers=admin.headers)
    assert validation_field(response) in ("since", "until")


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00%2B02:00",
        "2026-01-01T00:00:00.123456Z",
        "2026-01-01T00:00",
        "2026-01-01",
    ],
)
def test_audit_times_take_iso_8601(client, admin, value):
    response = client.get(f"/api/v1/audit-events?since={value}", headers=admin.headers)
    assert response.status_code == 200, response.json


@pytest.mark.parametrize("value", ["1", "0", "yes", "on", "True", "t"])
def test_is_active_filter_takes_only_true_or_false(client, admin, value):
    response = client.get(f"/api/v1/users?is_active={value}", headers=admin.headers)
    assert validation_field(response) == "is_active"


@pytest.mark.parametrize("value", ["true", "false"])
def test_is_active_filter_takes_true_and_false(client, admin, value):
    response = client.get(f"/api/v1/users?is_active={value}", headers=admin.headers)
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["1.0", "+1", "1_0", "%201", "1%20", "0x1", "1e1"])
@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/audit-events"])
@pytest.mark.parametrize("parameter", ["page", "per_page"])
def test_query_integers_are_decimal_digits(client, admin, path, parameter, value):
    response = client.get(f"{path}?{parameter}={value}", headers=admin.headers)
    assert validation_field(response) == parameter


def test_audit_user_id_is_decimal_digits(client, admin):
    response = client.get("/api/v1/audit-events?user_id=1.0", headers=admin.headers)
    assert validation_field(response) == "user_id"


def test_v1_list_still_converts_numbers_like_joi(app, client):
    """The old service's Joi converted query text; its clients keep that (node-compat)."""
    from tests.integration.v1_support import v1_user

    admin = v1_user(app, client, role="admin", name="Admin")
    response = client.get("/v1/users?limit=5&page=1", headers=admin.headers)
    assert (response.status_code, response.json["limit"]) == (200, 5)


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00%2B01:00", "9999-12-31T23:59:59-01:00", "2026-02-30"]
)
def test_audit_times_outside_the_calendar_are_validation_errors(client, admin, value):
    response = client.get(f"/api/v1/audit-events?since={value}", headers=admin.headers)
    assert validation_field(response) == "since"
