"""Numbers past what the database holds are refused as input, never sent to it: PostgreSQL
answered them with "integer out of range" (500). SQLite passed some of these quietly, so the
PostgreSQL run is the one that counts."""

import jwt
import pytest

from tests.factories import signed_in_user
from tests.integration.v1_support import v1_user

pytestmark = pytest.mark.integration

BEYOND_BIGINT = [str(2**63), str(10**20), "99999999999999999999"]
BEYOND_PAGE = [str(2**31), str(2**63), str(10**20)]


@pytest.fixture
def admin(app, client):
    return signed_in_user(app, client, email="root@example.com", role="admin", name="Root")


def code(response):
    return response.status_code, response.json["error"]["code"]


def forge(app, token, **changes):
    claims = jwt.decode(token, options={"verify_signature": False}) | changes
    return jwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")


@pytest.mark.parametrize("page", BEYOND_PAGE)
def test_user_list_page_beyond_the_bound_is_a_validation_error(client, admin, page):
    response = client.get(f"/api/v1/users?page={page}&per_page=100", headers=admin.headers)
    assert code(response) == (400, "VALIDATION_ERROR")
    assert response.json["error"]["details"]["field"] == "page"


def test_user_list_last_allowed_page_is_empty(client, admin):
    response = client.get(f"/api/v1/users?page={2**31 - 1}&per_page=100", headers=admin.headers)
    assert response.status_code == 200
    assert response.json["data"]["items"] == []


@pytest.mark.parametrize("user_id", [*BEYOND_BIGINT, str(2**63 - 1)])
@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
def test_user_id_beyond_bigint_is_not_found(client, admin, method, user_id):
    response = client.open(
        f"/api/v1/users/{user_id}",
        method=method,
        json={"name": "X"} if method in ("PATCH", "PUT") else None,
        headers=admin.headers,
    )
    assert code(response) == (404, "NOT_FOUND")


@pytest.mark.parametrize("user_id", ["\uff11", "\u0661", "1\u0662"])  # fullwidth, Arabic-Indic
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_user_id_in_other_digits_names_no_user(client, admin, method, user_id):
    """Ids are ASCII digits: a fullwidth 1 is not user 1 (Werkzeug's `\\d` reads every script's)."""
    response = client.open(
        f"/api/v1/users/{user_id}",
        method=method,
        json={"name": "X"} if method == "PATCH" else None,
        headers=admin.headers,
    )
    assert code(response) == (404, "NOT_FOUND")


@pytest.mark.parametrize(
    "query",
    [
        f"user_id={10**20}",
        f"user_id={2**63}",
        f"page={10**20}",
        f"page={2**31}",
    ],
)
def test_audit_query_numbers_beyond_their_bound_are_validation_errors(client, admin, query):
    response = client.get(f"/api/v1/audit-events?{query}", headers=admin.headers)
    assert code(response) == (400, "VALIDATION_ERROR")


@pytest.mark.parametrize("query", [f"user_id={2**63 - 1}", f"page={2**31 - 1}&per_page=100"])
def test_audit_query_numbers_at_their_bound_find_nothing(client, admin, query):
    response = client.get(f"/api/v1/audit-events?{query}", headers=admin.headers)
    assert response.status_code == 200
    assert response.json["data"]["items"] == []


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": "99999999999999999999"},
        {"sub": str(2**63)},
        {"sub": "-1"},
        {"sub": "1_0"},
        {"sub": " 1"},
        {"exp": 10**20},
        {"exp": 2**63},
    ],
    ids=lambda changes: f"{next(iter(changes))}={next(iter(changes.values()))}",
)
@pytest.mark.parametrize(
    "path", ["/api/v1/users/1", "/auth/profile", "/api/v1/auth/2fa", "/v1/users?limit=1"]
)
def test_signed_token_with_out_of_range_claims_is_refused(app, client, admin, changes, path):
    token = forge(app, admin.access_token, **changes)
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.parametrize("changes", [{"sub": "99999999999999999999"}, {"exp": 10**20}])
def test_mfa_token_with_out_of_range_claims_is_refused(app, client, changes):
    claims = {
        "sub": "1",
        "type": "mfa",
        "kind": "api",
        "exp": 2**40,
        "iss": app.config["JWT_ISSUER"],
        "aud": app.config["JWT_AUDIENCE"],
    } | changes
    token = jwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")
    response = client.post("/api/v1/auth/mfa", json={"mfa_token": token, "code": "123456"})
    assert code(response) == (401, "INVALID_TOKEN")


@pytest.mark.parametrize("parameter", ["page", "limit"])
@pytest.mark.parametrize("value", [str(2**53), str(10**20), str(-(10**20))])
def test_v1_list_numbers_beyond_a_safe_integer_are_refused_like_joi(app, client, parameter, value):
    admin = v1_user(app, client, role="admin", name="Admin")
    response = client.get(f"/v1/users?{parameter}={value}", headers=admin.headers)
    assert (response.status_code, response.json) == (
        400,
        {"code": 400, "message": f'"{parameter}" must be a safe number'},
    )


def test_v1_list_last_safe_page_is_empty(app, client):
    admin = v1_user(app, client, role="admin", name="Admin")
    response = client.get(f"/v1/users?page={2**53 - 1}&limit=100", headers=admin.headers)
    assert response.status_code == 200
    assert response.json["results"] == []


def test_user_id_beyond_bigint_is_forbidden_to_a_non_admin_like_any_other_id(app, client):
    member = signed_in_user(app, client, email="member@example.com", name="Member")
    response = client.get("/api/v1/users/99999999999999999999", headers=member.headers)
    assert code(response) == (403, "FORBIDDEN")
