"""Abuse of access tokens: every forgery and misuse answers 401 INVALID_TOKEN."""

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services import token_service
from tests.factories import signed_in_user

pytestmark = pytest.mark.integration


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def forge(app, session, *, secret=None, algorithm="HS256", **changes):
    claims = claims_of(session.access_token) | changes
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, secret or app.config["JWT_SECRET_KEY"], algorithm=algorithm)


def profile(client, token):
    return client.get("/auth/profile", headers={"Authorization": f"Bearer {token}"})


def assert_invalid(response):
    assert response.status_code == 401
    assert response.json["error"]["code"] == "INVALID_TOKEN"


@pytest.fixture
def session(app, client):
    return signed_in_user(app, client)


def test_claims_are_complete(app, session):
    claims = claims_of(session.access_token)
    assert set(claims) == {"sub", "sid", "jti", "type", "iat", "exp", "iss", "aud"}
    assert claims["type"] == "access"
    assert claims["sub"] == str(session.user_id)
    assert jwt.get_unverified_header(session.access_token)["alg"] == "HS256"


def test_a_well_forged_copy_works(app, client, session):
    """The forging helper itself is sound: only the altered part makes the tests below fail."""
    assert profile(client, forge(app, session)).status_code == 200


def test_tampered_payload_keeps_the_old_signature(client, session):
    header, _, signature = session.access_token.split(".")
    payload = claims_of(session.access_token) | {"sub": "1"}
    assert_invalid(profile(client, f"{header}.{b64(payload)}.{signature}"))


def test_signature_by_another_secret(app, client, session):
    assert_invalid(profile(client, forge(app, session, secret="x" * 64)))


def test_alg_none(client, session):
    payload = claims_of(session.access_token)
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."
    assert_invalid(profile(client, token))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_algorithm_confusion_hs512(app, client, session):
    assert_invalid(profile(client, forge(app, session, algorithm="HS512")))


def test_expired(app, client, session):
    past = datetime.now(UTC) - timedelta(minutes=1)
    assert_invalid(profile(client, forge(app, session, exp=past)))


def test_a_remembered_token_is_still_refused_once_it_expires(app, client, session, monkeypatch):
    """Verified tokens are remembered per worker; expiry is checked on every use all the same."""
    assert profile(client, session.access_token).status_code == 200
    expires = datetime.fromtimestamp(claims_of(session.access_token)["exp"], UTC)
    monkeypatch.setattr(token_service, "utcnow", lambda: expires)
    assert_invalid(profile(client, session.access_token))


def test_a_remembered_token_is_refused_under_another_key(app, client, session, monkeypatch):
    """The key, audience and issuer a token was verified under are part of what is remembered."""
    assert profile(client, session.access_token).status_code == 200
    monkeypatch.setitem(app.config, "JWT_SECRET_KEY", "y" * 64)
    assert_invalid(profile(client, session.access_token))
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "JWT_AUDIENCE", "another-api")
    assert_invalid(profile(client, session.access_token))


@pytest.mark.parametrize("claim", ["exp", "sub", "jti", "sid", "type", "iss", "aud", "iat"])
def test_missing_claim(app, client, session, claim):
    assert_invalid(profile(client, forge(app, session, **{claim: None})))


@pytest.mark.parametrize(
    "changes",
    [{"iss": "someone-else"}, {"aud": "another-api"}, {"type": "refresh"}, {"sub": "abc"}],
    ids=["issuer", "audience", "type", "subject"],
)
def test_wrong_claims(app, client, session, changes):
    assert_invalid(profile(client, forge(app, session, **changes)))


def test_token_for_another_users_session(app, client, session):
    other = signed_in_user(app, client)
    assert_invalid(profile(client, forge(app, session, sub=str(other.user_id))))


def test_refresh_token_used_as_access_token(client, session):
    assert_invalid(profile(client, session.refresh_token))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer " + "a" * 9000,
        "bearer x.y.z",
    ],
    ids=["no-token", "blank", "basic", "other-scheme", "oversized", "garbage"],
)
def test_malformed_authorization_headers(client, header):
    assert_invalid(client.get("/auth/profile", headers={"Authorization": header}))


def test_token_of_a_deactivated_user(app, client, session):
    admin = signed_in_user(app, client, role="admin")
    client.patch(
        f"/api/v1/users/{session.user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert_invalid(profile(client, session.access_token))
