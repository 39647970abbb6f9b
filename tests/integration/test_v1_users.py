"""`/v1/users/...` as the old Node.js service's clients call it (node-compat-contract.md)."""

import pytest

from models import User, db
from tests.apps import make_app
from tests.factories import create_user
from tests.integration.v1_support import v1_login, v1_user

pytestmark = pytest.mark.integration

NOT_24_HEX = ["123", "zzzzzzzzzzzzzzzzzzzzzzzz", "0123456789abcdef01234567a"]
FORBIDDEN = {"code": 403, "message": "Forbidden"}
AUTHENTICATE = {"code": 401, "message": "Please authenticate"}


def answer(response):
    return response.status_code, response.json


@pytest.fixture
def admin(app, client):
    return v1_user(app, client, role="admin", name="Admin")


# --- create and list ------------------------------------------------------------------------


def test_admin_creates_a_user_with_a_role(client, admin):
    body = {"email": "made@example.com", "password": "password1", "name": "Made", "role": "admin"}

    response = client.post("/v1/users", json=body, headers=admin.headers)

    assert response.status_code == 201
    assert response.json["role"] == "admin"
    assert set(response.json) == {"id", "name", "email", "role", "isEmailVerified"}
    v1_login(client, "made@example.com", "password1")


def test_create_user_needs_every_field_and_a_known_role(client, admin):
    response = client.post("/v1/users", json={"role": "root"}, headers=admin.headers)
    assert answer(response) == (
        400,
        {
            "code": 400,
            "message": '"email" is required, "password" is required, "name" is required, '
            '"role" must be one of [user, admin]',
        },
    )


def test_create_user_with_a_taken_email_is_400(app, client, admin):
    create_user(app, email="taken@example.com")
    body = {"email": "taken@example.com", "password": "password1", "name": "T", "role": "user"}
    assert answer(client.post("/v1/users", json=body, headers=admin.headers)) == (
        400,
        {"code": 400, "message": "Email already taken"},
    )


def test_users_cannot_create_or_list_users(app, client):
    user = v1_user(app, client)
    body = {"email": "x@example.com", "password": "password1", "name": "X", "role": "user"}
    assert answer(client.post("/v1/users", json=body, headers=user.headers)) == (403, FORBIDDEN)
    assert answer(client.get("/v1/users", headers=user.headers)) == (403, FORBIDDEN)
    assert answer(client.get("/v1/users")) == (401, AUTHENTICATE)


def test_list_defaults_to_ten_per_page_in_creation_order(app, client, admin):
    for number in range(11):
        create_user(app, name=f"Person {number:02}")

    first = client.get("/v1/users", headers=admin.headers).json
    second = client.get("/v1/users?page=2", headers=admin.headers).json

    assert {k: v for k, v in first.items() if k != "results"} == {
        "page": 1,
        "limit": 10,
        "totalPages": 2,
        "totalResults": 12,
    }
    assert [u["name"] for u in first["results"]][:2] == ["Admin", "Person 00"]
    assert [u["name"] for u in second["results"]] == ["Person 09", "Person 10"]
    assert set(first["results"][0]) == {"id", "name", "email", "role", "isEmailVerified"}


def test_list_filters_by_exact_name_and_role(app, client, admin):
    create_user(app, name="Ada")
    create_user(app, name="Ada Lovelace")
    create_user(app, name="Ada", role="admin")

    by_name = client.get("/v1/users?name=Ada", headers=admin.headers).json
    by_both = client.get("/v1/users?name=Ada&role=admin", headers=admin.headers).json

    assert by_name["totalResults"] == 2
    assert [(u["name"], u["role"]) for u in by_both["results"]] == [("Ada", "admin")]


def test_list_sorts_by_several_fields(app, client, admin):
    create_user(app, name="B", email="b2@example.com")
    create_user(app, name="A", email="a@example.com")
    create_user(app, name="B", email="b1@example.com")

    ordered = client.get("/v1/users?sortBy=name:desc,email:asc&limit=3", headers=admin.headers)
    last = client.get("/v1/users?sortBy=name:desc&limit=3&page=2", headers=admin.headers)

    assert [u["email"] for u in ordered.json["results"]] == [
        "b1@example.com",
        "b2@example.com",
        admin.email,
    ]
    assert [u["email"] for u in last.json["results"]] == ["a@example.com"]
    assert ordered.json["totalPages"] == 2


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_list_breaks_ties_in_insertion_order_in_both_directions(app, client, admin, direction):
    """Mongo returned equal keys in insertion order whichever way it sorted."""
    first = create_user(app, name="Tie", email="first@example.com")
    second = create_user(app, name="Tie", email="second@example.com")

    response = client.get(f"/v1/users?sortBy=role:{direction}", headers=admin.headers)

    users = [u["email"] for u in response.json["results"] if u["role"] == "user"]
    assert users == [first.email, second.email]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("limit=0&page=0", (10, 1)),
        ("limit=500", (100, 1)),
        ("sortBy=unknown:desc", (10, 1)),
    ],
)
def test_list_paging_falls_back_like_the_old_service(client, admin, query, expected):
    body = client.get(f"/v1/users?{query}", headers=admin.headers).json
    assert (body["limit"], body["page"]) == expected


def test_list_refuses_unknown_and_malformed_parameters(client, admin):
    response = client.get("/v1/users?limit=ten&color=red&page=1&page=2", headers=admin.headers)
    assert answer(response) == (
        400,
        {
            "code": 400,
            "message": '"limit" must be a number, "page" must be a number, "color" is not allowed',
        },
    )


# --- get, update, delete ---------------------------------------------------------------------


def test_users_get_themselves_but_not_others(app, client, admin):
    user = v1_user(app, client, name="Self")

    own = client.get(f"/v1/users/{user.id}", headers=user.headers)
    other = client.get(f"/v1/users/{admin.id}", headers=user.headers)
    unknown = client.get(f"/v1/users/{'a' * 24}", headers=user.headers)

    assert answer(own)[1]["name"] == "Self"
    assert answer(other) == (403, FORBIDDEN)
    assert answer(unknown) == (403, FORBIDDEN)


def test_admins_get_anyone_and_unknown_ids_are_404(app, client, admin):
    user = v1_user(app, client)
    assert client.get(f"/v1/users/{user.id}", headers=admin.headers).json["id"] == user.id
    assert client.get(f"/v1/users/{user.id.upper()}", headers=admin.headers).status_code == 200
    assert answer(client.get(f"/v1/users/{'a' * 24}", headers=admin.headers)) == (
        404,
        {"code": 404, "message": "User not found"},
    )


@pytest.mark.parametrize("bad_id", NOT_24_HEX)
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_ids_that_are_not_24_hex_are_400(client, admin, bad_id, method):
    response = getattr(client, method)(
        f"/v1/users/{bad_id}", json={"name": "X"}, headers=admin.headers
    )
    assert answer(response) == (400, {"code": 400, "message": '"userId" must be a valid mongo id'})


def test_a_malformed_id_is_403_for_a_user_as_the_old_rights_check_came_first(app, client):
    user = v1_user(app, client)
    assert answer(client.get("/v1/users/123", headers=user.headers)) == (403, FORBIDDEN)


def test_users_update_their_name_email_and_password_without_the_current_one(app, client):
    user = v1_user(app, client, email="me@example.com")

    response = client.patch(
        f"/v1/users/{user.id}",
        json={"name": "Renamed", "email": "new@example.com", "password": "newpass12"},
        headers=user.headers,
    )

    assert response.status_code == 200
    assert response.json["name"] == "Renamed"
    assert response.json["email"] == "new@example.com"
    v1_login(client, "new@example.com", "newpass12")


def test_update_refuses_role_empty_bodies_taken_emails_and_others(app, client, admin):
    user = v1_user(app, client)
    create_user(app, email="taken@example.com")
    path = f"/v1/users/{user.id}"

    role = client.patch(path, json={"role": "admin"}, headers=user.headers)
    empty = client.patch(path, json={}, headers=user.headers)
    taken = client.patch(path, json={"email": "taken@example.com"}, headers=user.headers)
    other = client.patch(f"/v1/users/{admin.id}", json={"name": "X"}, headers=user.headers)

    assert answer(role) == (400, {"code": 400, "message": '"role" is not allowed'})
    assert answer(empty) == (400, {"code": 400, "message": '"value" must have at least 1 key'})
    assert answer(taken) == (400, {"code": 400, "message": "Email already taken"})
    assert answer(other) == (403, FORBIDDEN)


def test_admins_update_anyone_and_unknown_ids_are_404(app, client, admin):
    user = v1_user(app, client)
    renamed = client.patch(f"/v1/users/{user.id}", json={"name": "By admin"}, headers=admin.headers)
    missing = client.patch(f"/v1/users/{'b' * 24}", json={"name": "X"}, headers=admin.headers)
    assert renamed.json["name"] == "By admin"
    assert answer(missing) == (404, {"code": 404, "message": "User not found"})


def test_users_delete_themselves_softly_and_their_tokens_stop(app, client, admin):
    user = v1_user(app, client, email="leaving@example.com")

    response = client.delete(f"/v1/users/{user.id}", headers=user.headers)

    assert response.status_code == 204
    assert client.get(f"/v1/users/{user.id}", headers=user.headers).status_code == 401
    assert client.get(f"/v1/users/{user.id}", headers=admin.headers).status_code == 404
    with app.app_context():
        row = db.session.scalars(db.select(User).where(User.legacy_id == user.id)).one()
        assert row.deleted_at is not None


def test_users_cannot_delete_others_and_the_last_admin_stays(app, client, admin):
    user = v1_user(app, client)
    assert answer(client.delete(f"/v1/users/{admin.id}", headers=user.headers)) == (403, FORBIDDEN)
    last = client.delete(f"/v1/users/{admin.id}", headers=admin.headers)
    assert last.status_code == 409
    assert set(last.json) == {"code", "message"}
    assert client.delete(f"/v1/users/{user.id}", headers=admin.headers).status_code == 204
    assert client.delete(f"/v1/users/{user.id}", headers=admin.headers).status_code == 404


# --- the layer as a whole --------------------------------------------------------------------


def test_unknown_v1_routes_and_methods_are_404_not_found(client):
    for response in (client.get("/v1/nothing"), client.put("/v1/users"), client.get("/v1")):
        assert answer(response) == (404, {"code": 404, "message": "Not found"})


def test_malformed_json_is_400_in_the_old_shape(client):
    response = client.post("/v1/auth/login", data="{", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert set(response.json) == {"code", "message"}


def test_api_v1_keeps_its_own_envelope(client):
    assert client.get("/api/v1/nothing").json["success"] is False


def test_v1_is_absent_from_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert not [path for path in paths if path.startswith("/v1")]


def test_legacy_api_can_be_switched_off(database, monkeypatch):
    monkeypatch.setenv("LEGACY_API_ENABLED", "false")
    application = make_app(database.url)
    client = application.test_client()

    response = client.post("/v1/auth/login", json={"email": "a@example.com", "password": "x"})

    assert response.status_code == 404
    assert response.json["success"] is False  # the /api/v1 envelope: the old layer is gone


def test_unexpected_failures_are_500_in_the_old_shape(client, admin, monkeypatch):
    from services import user_service

    def broken(**_):
        raise RuntimeError("boom")

    monkeypatch.setattr(user_service, "list_users", broken)
    assert answer(client.get("/v1/users", headers=admin.headers)) == (
        500,
        {"code": 500, "message": "Internal Server Error"},
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": " "}, '"name" is not allowed to be empty'),
        ({"name": "x" * 101}, '"name" length must be less than or equal to 100 characters long'),
        ({"name": "a\x00b"}, '"name" contains an invalid value'),
        (
            {"password": "p1" * 600},
            '"password" length must be less than or equal to 1024 characters long',
        ),
        ({"email": "a@example.com", "name": True}, '"name" must be a string'),
        ({"name": ["x"]}, '"name" must be a string'),
    ],
)
def test_update_values_are_checked_like_joi(app, client, body, message):
    user = v1_user(app, client)
    response = client.patch(f"/v1/users/{user.id}", json=body, headers=user.headers)
    assert answer(response) == (400, {"code": 400, "message": message})


def test_an_absent_body_reads_as_empty(client):
    assert answer(client.post("/v1/auth/logout")) == (
        400,
        {"code": 400, "message": '"refreshToken" is required'},
    )
