"""`/v1/auth/...` as the old Node.js service's clients call it (node-compat-contract.md)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from sqlalchemy import select

from models import AuthSession, RefreshToken, db
from tests.factories import PASSWORD, create_user, login
from tests.integration.v1_support import legacy_id_of, old_access_token, v1_login, v1_user
from tests.mail_server import configured, first_link
from tests.mongo_data import (
    OLD_JWT_SECRET,
    OLD_PASSWORD,
    mongoose_user,
    token_document,
    write_json_lines,
)

pytestmark = pytest.mark.integration

ISO_MS = "%Y-%m-%dT%H:%M:%S.%fZ"


def error(response):
    return response.status_code, response.json


def token_from(mail, path):
    return parse_qs(urlsplit(first_link(mail, path)).query)["token"][0]


def me(client, headers):
    return client.post("/v1/auth/send-verification-email", headers=headers)


# --- register and login ---------------------------------------------------------------------


def test_register_answers_201_with_the_user_and_signed_in_tokens(app, client):
    response = client.post(
        "/v1/auth/register",
        json={"email": " New@Example.com", "password": "password1", "name": "New"},
    )

    assert response.status_code == 201
    user, tokens = response.json["user"], response.json["tokens"]
    assert set(response.json) == {"user", "tokens"}
    assert set(user) == {"id", "name", "email", "role", "isEmailVerified"}
    assert user["email"] == "new@example.com"
    assert user["role"] == "user"
    assert user["isEmailVerified"] is False
    assert len(user["id"]) == 24
    assert set(tokens) == {"access", "refresh"}
    expires = datetime.strptime(tokens["access"]["expires"], ISO_MS).replace(tzinfo=UTC)
    assert expires > datetime.now(UTC)
    assert me(client, {"Authorization": f"Bearer {tokens['access']['token']}"}).status_code == 204


def test_register_with_a_taken_email_is_400_email_already_taken(app, client):
    create_user(app, email="taken@example.com")
    body = {"email": "taken@example.com", "password": "password1", "name": "X"}

    assert error(client.post("/v1/auth/register", json=body)) == (
        400,
        {"code": 400, "message": "Email already taken"},
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, '"email" is required, "password" is required, "name" is required'),
        (
            {"email": "nope", "password": "short1", "name": "N"},
            '"email" must be a valid email, password must be at least 8 characters',
        ),
        (
            {"email": "a@example.com", "password": "lettersonly", "name": ""},
            "password must contain at least 1 letter and 1 number, "
            '"name" is not allowed to be empty',
        ),
        (
            {"email": "a@example.com", "password": "password1", "name": "N", "role": "admin"},
            '"role" is not allowed',
        ),
        ({"email": 5, "password": "password1", "name": "N"}, '"email" must be a string'),
        ([1], '"value" must be of type object'),
    ],
)
def test_register_validation_joins_every_message(client, body, message):
    assert error(client.post("/v1/auth/register", json=body)) == (
        400,
        {"code": 400, "message": message},
    )


def test_register_accepts_form_bodies_like_express(client):
    data = {"email": "form@example.com", "password": "password1", "name": "Form"}
    assert client.post("/v1/auth/register", data=data).status_code == 201


def test_strict_password_policy_applies_the_api_v1_rules(app, client):
    body = {"email": "strict@example.com", "password": "password1", "name": "S"}
    with configured(app, LEGACY_STRICT_PASSWORD_POLICY=True):
        response = client.post("/v1/auth/register", json=body)
    assert response.status_code == 400
    assert "Password must be at least 12 characters" in response.json["message"]


def test_login_answers_the_user_and_tokens(app, client):
    user = create_user(app, email="in@example.com", name="In")

    response = client.post("/v1/auth/login", json={"email": "in@example.com", "password": PASSWORD})

    assert response.status_code == 200
    assert response.json["user"] == {
        "id": legacy_id_of(app, user.id),
        "name": "In",
        "email": "in@example.com",
        "role": "user",
        "isEmailVerified": False,
    }
    assert set(response.json["tokens"]["refresh"]) == {"token", "expires"}


def test_login_with_a_wrong_password_is_401(app, client):
    create_user(app, email="in@example.com")
    response = client.post("/v1/auth/login", json={"email": "in@example.com", "password": "x"})
    assert error(response) == (401, {"code": 401, "message": "Incorrect email or password"})


def test_login_failures_are_rate_limited_like_api_v1(app, client):
    create_user(app, email="in@example.com")
    body = {"email": "in@example.com", "password": "wrong"}
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="2/minute"):
        responses = [client.post("/v1/auth/login", json=body) for _ in range(3)]
    assert [r.status_code for r in responses] == [401, 401, 429]
    assert responses[2].json == {
        "code": 429,
        "message": "Too many requests, please try again later.",
    }
    assert "Retry-After" in responses[2].headers


# --- tokens ---------------------------------------------------------------------------------


def test_refresh_tokens_rotates_and_the_old_refresh_token_is_gone(app, client):
    session = v1_user(app, client)

    first = client.post("/v1/auth/refresh-tokens", json={"refreshToken": session.refresh})
    again = client.post("/v1/auth/refresh-tokens", json={"refreshToken": session.refresh})

    assert first.status_code == 200
    assert set(first.json) == {"access", "refresh"}
    assert first.json["refresh"]["token"] != session.refresh
    assert error(again) == (401, {"code": 401, "message": "Please authenticate"})


def test_refresh_tokens_needs_a_refresh_token(client):
    assert error(client.post("/v1/auth/refresh-tokens", json={})) == (
        400,
        {"code": 400, "message": '"refreshToken" is required'},
    )


def test_logout_ends_the_session_of_the_refresh_token(app, client):
    session = v1_user(app, client)

    response = client.post("/v1/auth/logout", json={"refreshToken": session.refresh})

    assert response.status_code == 204
    assert response.data == b""
    assert me(client, session.headers).status_code == 401  # deliberate: access revoked too
    assert client.post("/v1/auth/logout", json={"refreshToken": session.refresh}).json == {
        "code": 404,
        "message": "Not found",
    }


def test_logout_with_an_unknown_token_is_404_and_without_one_400(client):
    assert error(client.post("/v1/auth/logout", json={"refreshToken": "unknown"})) == (
        404,
        {"code": 404, "message": "Not found"},
    )
    assert error(client.post("/v1/auth/logout", json={"refreshToken": ""})) == (
        400,
        {"code": 400, "message": '"refreshToken" is not allowed to be empty'},
    )


def test_imported_refresh_token_works_once(app, client, tmp_path):
    owner = mongoose_user(email="old@example.com")
    old_refresh = import_with_refresh_token(app, tmp_path, owner)

    with configured(app, LEGACY_JWT_SECRET=OLD_JWT_SECRET):
        first = client.post("/v1/auth/refresh-tokens", json={"refreshToken": old_refresh})
        second = client.post("/v1/auth/refresh-tokens", json={"refreshToken": old_refresh})

    assert first.status_code == 200, first.json
    assert second.status_code == 401
    signed_in = v1_login(client, "old@example.com", OLD_PASSWORD)
    assert signed_in.id == str(owner["_id"])


# --- old access tokens ----------------------------------------------------------------------


def far_future_old_token(legacy_id: str, exp: int) -> str:
    """A well-signed old-service token whose `exp` is past any date (PyJWT lets it through)."""
    claims = {"sub": legacy_id, "iat": 1_700_000_000, "exp": exp, "type": "access"}
    return jwt.encode(claims, OLD_JWT_SECRET, algorithm="HS256")


def test_an_access_token_of_the_old_service_works_until_it_expires(app, client):
    user = create_user(app)
    legacy_id = legacy_id_of(app, user.id)
    valid = {"Authorization": f"Bearer {old_access_token(legacy_id)}"}
    expired = old_access_token(legacy_id, issued=datetime.now(UTC) - timedelta(hours=1))

    with configured(app, LEGACY_JWT_SECRET=OLD_JWT_SECRET):
        assert client.get(f"/v1/users/{legacy_id}", headers=valid).json["id"] == legacy_id
        assert client.get(
            f"/v1/users/{legacy_id}", headers={"Authorization": f"Bearer {expired}"}
        ).json == {"code": 401, "message": "Please authenticate"}
    # Without the old secret configured, no old token is accepted.
    assert client.get(f"/v1/users/{legacy_id}", headers=valid).status_code == 401


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            lambda lid: old_access_token(lid, secret="another-secret-" * 3), id="bad-secret"
        ),
        pytest.param(lambda lid: old_access_token(lid, kind="refresh"), id="refresh-type"),
        pytest.param(lambda lid: old_access_token("0" * 24), id="unknown-user"),
        pytest.param(lambda lid: "not-a-jwt", id="garbage"),
        pytest.param(lambda lid: far_future_old_token(lid, 10**20), id="exp-10^20"),
        pytest.param(lambda lid: far_future_old_token(lid, 2**63), id="exp-2^63"),
    ],
)
def test_bad_old_tokens_are_401(app, client, token):
    legacy_id = legacy_id_of(app, create_user(app).id)
    headers = {"Authorization": f"Bearer {token(legacy_id)}"}
    with configured(app, LEGACY_JWT_SECRET=OLD_JWT_SECRET):
        assert error(me(client, headers)) == (401, {"code": 401, "message": "Please authenticate"})


@pytest.mark.parametrize(
    "token_fields",
    [
        pytest.param({"secret": "a-secret-from-before-the-rotation-0123456789"}, id="other-secret"),
        pytest.param({"claims": {"exp": datetime.now(UTC) - timedelta(minutes=1)}}, id="expired"),
        pytest.param({"claims": {"sub": "5ebac534954b54139806c112"}}, id="other-sub"),
        pytest.param({"claims": {"type": "access"}}, id="access-type"),
    ],
)
@pytest.mark.parametrize(
    ("path", "field"),
    [("/v1/auth/refresh-tokens", "refreshToken"), ("/api/v1/auth/refresh", "refresh_token")],
)
def test_imported_refresh_token_the_old_service_would_refuse_is_401(
    app, client, tmp_path, token_fields, path, field
):
    owner = mongoose_user(email="old@example.com")
    old_refresh = import_with_refresh_token(app, tmp_path, owner, **token_fields)

    with configured(app, LEGACY_JWT_SECRET=OLD_JWT_SECRET):
        response = client.post(path, json={field: old_refresh})

    assert response.status_code == 401
    with app.app_context():
        stored = db.session.scalars(select(RefreshToken)).one()
        assert stored.used_at is None
        assert db.session.get(AuthSession, stored.session_id).revoked_at is None


def test_imported_refresh_tokens_are_refused_without_the_old_secret(app, client, tmp_path):
    old_refresh = import_with_refresh_token(app, tmp_path, mongoose_user())
    response = client.post("/v1/auth/refresh-tokens", json={"refreshToken": old_refresh})
    assert error(response) == (401, {"code": 401, "message": "Please authenticate"})


def import_with_refresh_token(app, tmp_path, owner, **token_fields):
    live = token_document(owner, **token_fields)
    users = write_json_lines(tmp_path / "users.json", [owner])
    tokens = write_json_lines(tmp_path / "tokens.json", [live])
    result = app.test_cli_runner().invoke(
        args=["migrate-data", "import-mongo", str(users), "--tokens", str(tokens)]
    )
    assert result.exit_code == 0, result.output
    return live["token"]


def test_old_access_tokens_die_when_the_user_changes_the_password(app, client, tmp_path):
    owner = mongoose_user(email="old@example.com")
    import_with_refresh_token(app, tmp_path, owner)
    legacy_id = str(owner["_id"])
    headers = {"Authorization": f"Bearer {old_access_token(legacy_id)}"}
    with configured(app, LEGACY_JWT_SECRET=OLD_JWT_SECRET):
        assert me(client, headers).status_code == 204
        change = client.patch(
            f"/v1/users/{legacy_id}", json={"password": "newpassword2"}, headers=headers
        )
        assert change.status_code == 200
        assert me(client, headers).status_code == 401


def test_old_access_tokens_of_a_user_without_sessions_die_with_a_password_reset(
    app, client, mail_app, smtp_server
):
    user = create_user(app)
    legacy_id = legacy_id_of(app, user.id)
    headers = {"Authorization": f"Bearer {old_access_token(legacy_id)}"}
    with configured(app, LEGACY_JWT_SECRET=OLD_JWT_SECRET):
        assert me(client, headers).status_code == 204
        client.post("/api/v1/auth/forgot-password", json={"email": user.email})
        link = first_link(smtp_server.messages[-1], "/auth/reset-password")
        token = parse_qs(urlsplit(link).query)["token"][0]
        reset = client.post(
            "/api/v1/auth/reset-password", json={"token": token, "password": PASSWORD + "-new"}
        )
        assert reset.status_code == 200
        assert me(client, headers).status_code == 401


def test_old_access_tokens_die_when_the_user_is_deleted(app, client):
    legacy_id = legacy_id_of(app, create_user(app).id)
    headers = {"Authorization": f"Bearer {old_access_token(legacy_id)}"}
    with configured(app, LEGACY_JWT_SECRET=OLD_JWT_SECRET):
        assert client.delete(f"/v1/users/{legacy_id}", headers=headers).status_code == 204
        assert me(client, headers).status_code == 401


def test_missing_or_malformed_authorization_is_401(client):
    assert error(me(client, {})) == (401, {"code": 401, "message": "Please authenticate"})
    assert me(client, {"Authorization": "Basic abc"}).status_code == 401


def test_api_v1_tokens_work_on_v1_and_follow_its_revocation(app, client):
    session = login(client, create_user(app).email)
    assert me(client, session.headers).status_code == 204
    client.post("/api/v1/auth/logout", headers=session.headers, json={})
    assert me(client, session.headers).status_code == 401


# --- recovery and verification ---------------------------------------------------------------


def test_forgot_password_answers_204_for_known_and_unknown_emails(
    mail_app, app, client, smtp_server
):
    create_user(app, email="known@example.com")

    known = client.post("/v1/auth/forgot-password", json={"email": "known@example.com"})
    unknown = client.post("/v1/auth/forgot-password", json={"email": "nobody@example.com"})

    assert (known.status_code, unknown.status_code) == (204, 204)
    assert len(smtp_server.messages) == 1
    assert error(client.post("/v1/auth/forgot-password", json={})) == (
        400,
        {"code": 400, "message": '"email" is required'},
    )


def test_reset_password_with_the_query_token_ends_every_session(mail_app, app, client, smtp_server):
    session = v1_user(app, client, email="reset@example.com")
    client.post("/v1/auth/forgot-password", json={"email": "reset@example.com"})
    token = token_from(smtp_server.messages[0], "/auth/reset-password")

    response = client.post(f"/v1/auth/reset-password?token={token}", json={"password": "newpass12"})

    assert response.status_code == 204
    assert me(client, session.headers).status_code == 401
    v1_login(client, "reset@example.com", "newpass12")
    again = client.post(f"/v1/auth/reset-password?token={token}", json={"password": "newpass13"})
    assert error(again) == (401, {"code": 401, "message": "Password reset failed"})


def test_reset_password_validates_query_and_body_together(client):
    response = client.post("/v1/auth/reset-password", json={"password": "short"})
    assert error(response) == (
        400,
        {"code": 400, "message": '"token" is required, password must be at least 8 characters'},
    )


def test_verify_email_with_the_query_token(mail_app, app, client, smtp_server):
    session = v1_user(app, client, email="verify@example.com")
    assert me(client, session.headers).status_code == 204
    token = token_from(smtp_server.messages[-1], "/auth/verify-email")

    response = client.post(f"/v1/auth/verify-email?token={token}")
    again = client.post(f"/v1/auth/verify-email?token={token}")

    assert response.status_code == 204
    assert error(again) == (401, {"code": 401, "message": "Email verification failed"})
    assert v1_login(client, "verify@example.com").id == session.id
    assert error(client.post("/v1/auth/verify-email")) == (
        400,
        {"code": 400, "message": '"token" is required'},
    )
