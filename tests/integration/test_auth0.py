"""Auth0: RS256 access tokens on the API and "Sign in with Auth0" in the browser, against a local
OpenID Connect provider (tests/oidc_provider.py) the app reaches over HTTP as it would Auth0."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from jwt.algorithms import ECAlgorithm
from sqlalchemy import select

import config
from errors import InvalidToken
from models import AuditEvent, AuthSession, User, db
from services import auth0_service
from tests.factories import HTML, create_user, csrf_token, fullwidth, login, post_form
from tests.integration.test_mfa_api import code_at, enrol
from tests.mail_server import configured
from tests.oidc_provider import (
    AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    Provider,
    SigningKey,
    running_provider,
)

JSON = {"Accept": "application/json"}
AUTH0_EXTENSIONS = (auth0_service.EXTENSION, "auth0_oauth")


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def auth0(app: Flask, provider: Provider) -> Iterator[Provider]:
    """The session's app configured for the local provider; everything restored afterwards."""
    settings = {
        "AUTH0_DOMAIN": "127.0.0.1",
        "AUTH0_AUDIENCE": AUDIENCE,
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "AUTH0_ISSUER_BASE_URL": provider.issuer,
        "AUTH0_AUTO_PROVISION": True,
        "AUTH0_JWKS_TIMEOUT_SECONDS": 1,
        "AUTH0_JWKS_MIN_REFRESH_SECONDS": 0,
    }
    previous = {name: app.config.get(name) for name in settings}
    app.config.update(settings)
    provider.jwks_requests, provider.jwks_delay, provider.jwks_status = 0, 0.0, 200
    provider.jwks_body = None
    provider.id_token_claims, provider.id_token_key = {}, None
    del provider.keys[1:]
    yield provider
    app.config.update(previous)
    for name in AUTH0_EXTENSIONS:
        app.extensions.pop(name, None)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **JSON}


def user_by_sub(app: Flask, sub: str) -> User | None:
    with app.app_context():
        return db.session.scalars(select(User).where(User.auth0_sub == sub)).first()


def verified(provider: Provider, sub: str = "auth0|api-user", email: str = "api@example.com"):
    return provider.sign(sub=sub, email=email, email_verified=True)


def assert_invalid(response) -> None:
    assert response.status_code == 401, response.json
    assert response.json["error"]["code"] == "INVALID_TOKEN"


# --- API tokens -----------------------------------------------------------------------------


def test_valid_auth0_token_reaches_the_api_and_provisions_a_user(app, client, auth0):
    response = client.get("/auth/profile", headers=bearer(verified(auth0)))
    assert response.status_code == 200, response.json
    profile = response.json["data"]
    assert profile["email"] == "api@example.com"
    assert profile["role"] == "user"
    user = user_by_sub(app, "auth0|api-user")
    assert user is not None and user.email_verified and user.password_hash is None
    by_id = client.get(f"/api/v1/users/{user.id}", headers=bearer(auth0.sign()))
    assert by_id.status_code == 200
    assert auth0.jwks_requests == 1  # the keys are cached


def test_without_auto_provisioning_unknown_subjects_are_refused(app, client, auth0):
    app.config["AUTH0_AUTO_PROVISION"] = False
    assert_invalid(client.get("/auth/profile", headers=bearer(verified(auth0))))
    assert user_by_sub(app, "auth0|api-user") is None


@pytest.mark.parametrize(
    "spelling", ["api@example.com", "API@Example.COM", f"api@{fullwidth('example')}.com"]
)
def test_an_existing_account_is_linked_by_verified_email(app, client, auth0, spelling):
    app.config["AUTH0_AUTO_PROVISION"] = False
    user = create_user(app, email="api@example.com")
    response = client.get("/auth/profile", headers=bearer(verified(auth0, email=spelling)))
    assert response.status_code == 200
    assert response.json["data"]["id"] == user.id
    assert user_by_sub(app, "auth0|api-user").id == user.id


def test_an_account_linked_to_another_subject_is_not_taken_over(app, client, auth0):
    assert client.get("/auth/profile", headers=bearer(verified(auth0))).status_code == 200
    other = verified(auth0, sub="auth0|someone-else")
    assert_invalid(client.get("/auth/profile", headers=bearer(other)))


@pytest.mark.parametrize(
    "claims",
    [
        {"email": "x@example.com", "email_verified": False},
        {"email": "x@example.com"},
        {"email": "not-an-email", "email_verified": True},
        {"email_verified": True},
    ],
    ids=["unverified", "verification-unknown", "not-an-email", "no-email"],
)
def test_first_sight_needs_a_verified_email(app, client, auth0, claims):
    assert_invalid(client.get("/auth/profile", headers=bearer(auth0.sign(claims))))
    assert user_by_sub(app, "auth0|api-user") is None


def test_a_disabled_linked_user_is_refused(app, client, auth0):
    user = create_user(app, email="api@example.com", is_active=False)
    with app.app_context():
        db.session.get(User, user.id).auth0_sub = "auth0|api-user"
        db.session.commit()
    assert_invalid(client.get("/auth/profile", headers=bearer(auth0.sign())))


def totp_account(app, client, email: str) -> str:
    """An account with two-factor authentication on (turned on through the API): its secret."""
    user = create_user(app, email=email)
    secret, _ = enrol(client, login(client, user.email))
    return secret


def test_auth0_token_of_an_account_with_2fa_needs_amr_mfa(app, client, auth0):
    totp_account(app, client, "api@example.com")
    refused = client.get("/auth/profile", headers=bearer(verified(auth0)))  # links by email
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "MFA_REQUIRED"
    assert 'error="insufficient_user_authentication"' in refused.headers["WWW-Authenticate"]
    user = user_by_sub(app, "auth0|api-user")
    for amr in (["pwd"], "mfa", None):
        response = client.get(f"/api/v1/users/{user.id}", headers=bearer(auth0.sign(amr=amr)))
        assert response.status_code == 401
        assert response.json["error"]["code"] == "MFA_REQUIRED"
    accepted = client.get(
        f"/api/v1/users/{user.id}", headers=bearer(auth0.sign(amr=["pwd", "mfa"]))
    )
    assert accepted.status_code == 200, accepted.json


def test_auth0_token_without_amr_is_fine_for_an_account_without_2fa(app, client, auth0):
    create_user(app, email="api@example.com")
    assert client.get("/auth/profile", headers=bearer(verified(auth0))).status_code == 200


def test_key_rotation_refetches_the_keys_for_a_new_kid(client, auth0):
    assert client.get("/auth/profile", headers=bearer(verified(auth0))).status_code == 200
    auth0.rotate()
    response = client.get("/auth/profile", headers=bearer(auth0.sign()))
    assert response.status_code == 200
    assert auth0.jwks_requests == 2


def test_unknown_kids_cause_at_most_one_refetch_per_interval(app, client, auth0):
    app.config["AUTH0_JWKS_MIN_REFRESH_SECONDS"] = 60
    assert client.get("/auth/profile", headers=bearer(verified(auth0))).status_code == 200
    for _ in range(10):
        token = auth0.sign(headers={"kid": uuid.uuid4().hex})
        assert_invalid(client.get("/auth/profile", headers=bearer(token)))
    assert auth0.jwks_requests == 1
    # A real rotation within the interval waits for it: refused until then, not fetched.
    auth0.rotate()
    assert_invalid(client.get("/auth/profile", headers=bearer(auth0.sign())))
    assert auth0.jwks_requests == 1


def test_a_token_from_another_issuer_is_refused(client, auth0):
    assert client.get("/auth/profile", headers=bearer(verified(auth0))).status_code == 200
    assert_invalid(client.get("/auth/profile", headers=bearer(auth0.sign(iss="https://evil/"))))
    with running_provider() as stranger:
        assert_invalid(client.get("/auth/profile", headers=bearer(stranger.sign())))
        # Same claims, the stranger's key under our tenant's kid: the signature fails.
        forged = stranger.sign(iss=auth0.issuer, headers={"kid": auth0.key.kid})
        assert_invalid(client.get("/auth/profile", headers=bearer(forged)))


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "https://another-api/"},
        {"exp": int(time.time()) - 3600},
        {"sub": None},
        {"exp": None},
    ],
    ids=["wrong-audience", "expired", "no-subject", "no-expiry"],
)
def test_tokens_with_bad_claims_are_refused(client, auth0, overrides):
    assert client.get("/auth/profile", headers=bearer(verified(auth0))).status_code == 200
    assert_invalid(client.get("/auth/profile", headers=bearer(auth0.sign(**overrides))))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hmac_token(header: dict[str, object], payload: dict[str, object], secret: bytes) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def test_algorithm_confusion_is_refused(app, client, auth0):
    assert client.get("/auth/profile", headers=bearer(verified(auth0))).status_code == 200
    public_pem = auth0.key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = jwt.decode(auth0.sign(), options={"verify_signature": False})
    kid = auth0.key.kid
    # HMAC with the public key as secret, under an RS256 header and under an honest HS256 one.
    for alg in ("RS256", "HS256"):
        forged = _hmac_token({"alg": alg, "typ": "JWT", "kid": kid}, payload, public_pem)
        assert_invalid(client.get("/auth/profile", headers=bearer(forged)))
    # Our own HS256 secret does not make a tenant-issued token either.
    ours = _hmac_token({"alg": "HS256", "kid": kid}, payload, app.config["JWT_SECRET_KEY"].encode())
    assert_invalid(client.get("/auth/profile", headers=bearer(ours)))
    none_header = _b64(json.dumps({"alg": "none"}).encode())
    unsigned = f"{none_header}.{_b64(json.dumps(payload).encode())}."
    assert_invalid(client.get("/auth/profile", headers=bearer(unsigned)))


def test_own_hs256_tokens_keep_working_next_to_auth0(app, client, auth0):
    user = create_user(app)
    signed_in = login(client, user.email)
    response = client.get("/auth/profile", headers=signed_in.headers)
    assert response.status_code == 200
    assert response.json["data"]["id"] == user.id
    assert auth0.jwks_requests == 0
    # An RS256 token claiming our own issuer is still the tenant's to verify, and fails.
    assert_invalid(
        client.get("/auth/profile", headers=bearer(auth0.sign(iss=app.config["JWT_ISSUER"])))
    )


def test_rs256_tokens_are_refused_when_auth0_is_not_configured(app, client, provider):
    assert app.config["AUTH0_DOMAIN"] is None
    assert_invalid(client.get("/auth/profile", headers=bearer(provider.sign())))
    with app.test_request_context():
        assert not auth0_service.claims_auth0("not.a.token")


def test_jwks_endpoint_down_answers_503(client, auth0):
    auth0.jwks_status = 500
    response = client.get("/auth/profile", headers=bearer(verified(auth0)))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_slow_jwks_endpoint_is_bounded_by_the_timeout(client, auth0):
    auth0.jwks_delay = 3
    started = time.monotonic()
    response = client.get("/auth/profile", headers=bearer(verified(auth0)))
    assert response.status_code == 503
    assert time.monotonic() - started < 2.5


def test_cached_keys_keep_working_while_the_jwks_endpoint_is_down(app, client, auth0):
    app.config["AUTH0_JWKS_CACHE_SECONDS"] = 1
    assert client.get("/auth/profile", headers=bearer(verified(auth0))).status_code == 200
    time.sleep(1.1)  # stale: a refresh is attempted
    auth0.jwks_status = 500
    assert client.get("/auth/profile", headers=bearer(auth0.sign())).status_code == 200
    assert auth0.jwks_requests == 2


def test_a_jwks_endpoint_that_is_down_is_asked_once_per_interval(app, client, auth0):
    """PyJWKClient's cooldown counts successful fetches only; failed ones are limited here."""
    app.config["AUTH0_JWKS_MIN_REFRESH_SECONDS"] = 60
    auth0.jwks_status = 500
    for _ in range(5):
        response = client.get("/auth/profile", headers=bearer(verified(auth0)))
        assert response.status_code == 503
    assert auth0.jwks_requests == 1


def test_stale_keys_and_a_down_endpoint_cost_one_fetch_per_interval(app, client, auth0):
    app.config.update(AUTH0_JWKS_CACHE_SECONDS=1, AUTH0_JWKS_MIN_REFRESH_SECONDS=60)
    assert client.get("/auth/profile", headers=bearer(verified(auth0))).status_code == 200
    time.sleep(1.1)
    auth0.jwks_status = 500
    for _ in range(3):
        assert client.get("/auth/profile", headers=bearer(auth0.sign())).status_code == 200
        token = auth0.sign(headers={"kid": uuid.uuid4().hex})
        assert_invalid(client.get("/auth/profile", headers=bearer(token)))
    assert auth0.jwks_requests == 2


@pytest.mark.parametrize(
    "body", [b"<html>maintenance</html>", b'{"keys": []}', b"[]"], ids=["html", "no-keys", "list"]
)
def test_a_jwks_answer_without_keys_is_unavailable_not_an_error(client, auth0, body):
    auth0.jwks_body = body
    response = client.get("/auth/profile", headers=bearer(verified(auth0)))
    assert response.status_code == 503, response.json
    assert response.json["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_a_published_key_that_is_not_rsa_does_not_verify_rs256_tokens(client, auth0):
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    ec_jwk = {**ECAlgorithm.to_jwk(ec_key, as_dict=True), "kid": "ec-key", "use": "sig"}
    auth0.jwks_body = json.dumps({"keys": [auth0.key.jwk(), ec_jwk]}).encode()
    token = auth0.sign(sub="auth0|api-user", headers={"kid": "ec-key"})
    assert_invalid(client.get("/auth/profile", headers=bearer(token)))


def test_the_refetch_limit_holds_against_the_provider_over_time(app, client, auth0):
    """Made-up kids for longer than the interval: one refetch per interval, then none."""
    app.config["AUTH0_JWKS_MIN_REFRESH_SECONDS"] = 1
    assert client.get("/auth/profile", headers=bearer(verified(auth0))).status_code == 200
    started = time.monotonic()
    while time.monotonic() - started < 2.5:
        token = auth0.sign(headers={"kid": uuid.uuid4().hex})
        assert_invalid(client.get("/auth/profile", headers=bearer(token)))
    # The first fetch, then at most one refetch per elapsed second.
    assert 2 <= auth0.jwks_requests <= 4
    # A rotated key is picked up once the interval has passed.
    time.sleep(1.05)
    auth0.rotate()
    before = auth0.jwks_requests
    assert client.get("/auth/profile", headers=bearer(auth0.sign())).status_code == 200
    assert auth0.jwks_requests == before + 1


def test_malformed_tokens_on_the_auth0_path_are_invalid(app, client, auth0):
    with app.test_request_context(), pytest.raises(InvalidToken):
        auth0_service.verify("garbage", audience=AUDIENCE)
    no_kid = auth0.sign(headers={"kid": ""})
    assert_invalid(client.get("/auth/profile", headers=bearer(no_kid)))


# --- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"AUTH0_DOMAIN": "t.auth0.com"}, "Auth0 would do nothing"),
        ({"AUTH0_DOMAIN": "t.auth0.com", "CLIENT_ID": "id"}, "CLIENT_SECRET is not set"),
        ({"AUTH0_DOMAIN": "t.auth0.com", "CLIENT_SECRET": "s"}, "CLIENT_ID is not set"),
        ({"CLIENT_ID": "id", "AUTH0_AUDIENCE": "a"}, "AUTH0_AUDIENCE, CLIENT_ID set but"),
    ],
)
def test_half_configured_auth0_is_flagged(environ, expected):
    problems = config.TestingConfig(environ).validate()
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"AUTH0_DOMAIN": "t.auth0.com", "AUTH0_AUDIENCE": "https://api/"},
        {"AUTH0_DOMAIN": "t.auth0.com", "CLIENT_ID": "id", "CLIENT_SECRET": "s"},
    ],
)
def test_complete_auth0_settings_are_accepted(environ):
    settings = config.TestingConfig(environ)
    assert settings.auth0_problems() == []
    if environ:
        assert settings.AUTH0_ISSUER_BASE_URL == "https://t.auth0.com/"


def test_config_validate_command_flags_half_configured_auth0(app, monkeypatch):
    settings = app.extensions["app_config"]
    monkeypatch.setattr(settings, "CLIENT_ID", "only-the-id")
    monkeypatch.setattr(settings, "AUTH0_DOMAIN", "t.auth0.com")
    result = app.test_cli_runner().invoke(args=["config", "validate"])
    assert result.exit_code == 1
    assert "CLIENT_SECRET is not set" in result.output


# --- browser sign-in ------------------------------------------------------------------------


def start_sign_in(client, path: str = "/auth/auth0/login") -> tuple[str, dict[str, str]]:
    """Follow the app to the provider's authorize endpoint; the callback URL it sends back."""
    response = client.get(path, headers=HTML)
    assert response.status_code == 302, response.get_data(as_text=True)
    authorize = response.headers["Location"]
    query = {name: values[0] for name, values in parse_qs(urlsplit(authorize).query).items()}
    back = requests.get(authorize, allow_redirects=False, timeout=5)
    assert back.status_code == 302, back.text
    return back.headers["Location"], query


def callback(client, url: str):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}", headers=HTML)


def test_sign_in_with_auth0_end_to_end(app, client, auth0):
    url, query = start_sign_in(client, "/auth/auth0/login?next=/auth/profile%3Fx%3D1")
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert query["state"] and query["nonce"] and query["audience"] == AUDIENCE
    assert "openid" in query["scope"].split()
    assert query["redirect_uri"] == f"{app.config['PUBLIC_BASE_URL']}/auth/auth0/callback"
    response = callback(client, url)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == "/auth/profile?x=1"
    assert auth0.token_requests[-1]["code_verifier"]
    profile = client.get("/auth/profile", headers=JSON)
    assert profile.status_code == 200
    assert profile.json["data"]["email"] == "browser@example.com"
    assert profile.json["data"]["name"] == "Browser User"
    user = user_by_sub(app, "auth0|browser-user")
    assert user is not None and user.last_login_at is not None
    # Logout ends the local session and sends the browser on to the tenant's logout.
    logout = post_form(client, "/auth/logout", {}, token_page="/auth/profile")
    assert logout.status_code == 303
    target = urlsplit(logout.headers["Location"])
    assert f"{target.scheme}://{target.netloc}/" == auth0.issuer
    assert target.path == "/v2/logout"
    logout_query = parse_qs(target.query)
    assert logout_query["client_id"] == [CLIENT_ID]
    assert logout_query["returnTo"] == [f"{app.config['PUBLIC_BASE_URL']}/auth/login"]
    assert client.get("/auth/profile", headers=JSON).status_code == 401


def test_sign_in_with_auth0_is_audited_like_a_password_sign_in(app, client, auth0):
    url, _ = start_sign_in(client)
    assert callback(client, url).status_code == 303
    user = user_by_sub(app, "auth0|browser-user")
    with app.app_context():
        (event,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.type == "auth.login_succeeded")
        ).all()
    assert (event.actor_id, event.subject_id) == (user.id, user.id)
    assert event.details == {"kind": "browser", "method": "auth0", "mfa": False}


def test_browser_sign_in_gets_the_keys_once_for_authlib_and_once_for_our_check(client, auth0):
    """Authlib fetches the JWKS for its ID token check, JwksClient for ours; both then cache it,
    and the API path shares JwksClient's copy."""
    for _ in range(2):
        url, _ = start_sign_in(client)
        assert callback(client, url).status_code == 303
        assert post_form(client, "/auth/logout", {}, token_page="/auth/profile").status_code == 303
    assert client.get("/auth/profile", headers=bearer(verified(auth0))).status_code == 200
    assert auth0.jwks_requests == 2


def test_sign_in_with_auth0_asks_for_the_local_second_factor(app, client, auth0):
    secret = totp_account(app, client, "browser@example.com")
    url, _ = start_sign_in(client, "/auth/auth0/login?next=/auth/profile%3Fx%3D1")
    response = callback(client, url)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/auth/login/mfa?next=")
    assert client.get("/auth/profile", headers=JSON).status_code == 401  # not signed in yet
    wrong = post_form(client, "/auth/login/mfa", {"code": "000000"}, token_page="/auth/login/mfa")
    assert wrong.status_code == 401
    done = post_form(
        client,
        "/auth/login/mfa?next=/auth/profile%3Fx%3D1",
        {"code": code_at(secret, 1)},
        token_page="/auth/login/mfa",
    )
    assert done.status_code == 303, done.get_data(as_text=True)
    assert done.headers["Location"] == "/auth/profile?x=1"
    assert client.get("/auth/profile", headers=JSON).json["data"]["email"] == "browser@example.com"
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.type == "auth.login_succeeded")
        ).all()[-1]
    assert event.details == {"kind": "browser", "method": "auth0", "mfa": True}
    # A session that began at Auth0 still ends there too.
    logout = post_form(client, "/auth/logout", {}, token_page="/auth/profile")
    assert urlsplit(logout.headers["Location"]).path == "/v2/logout"


def test_sign_in_with_auth0_mfa_needs_no_local_code(app, client, auth0):
    totp_account(app, client, "browser@example.com")
    auth0.id_token_claims = {"amr": ["mfa"]}
    url, _ = start_sign_in(client)
    response = callback(client, url)
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/profile"
    assert client.get("/auth/profile", headers=JSON).status_code == 200


def test_sign_in_replaces_a_password_session(app, client, auth0):
    user = create_user(app, email="browser@example.com")
    post_form(client, "/auth/login", {"email": user.email, "password": "plausible-Kettle-47-Orbit"})
    url, _ = start_sign_in(client)
    assert callback(client, url).status_code == 303
    assert client.get("/auth/profile", headers=JSON).json["data"]["id"] == user.id
    assert user_by_sub(app, "auth0|browser-user").id == user.id  # linked by verified email
    with app.app_context():
        rows = db.session.scalars(select(AuthSession).where(AuthSession.user_id == user.id)).all()
    assert sorted(row.revoked_reason or "live" for row in rows) == ["live", "replaced"]
    assert {row.kind for row in rows} == {"browser"}


def test_a_password_session_logs_out_locally(app, client, auth0):
    user = create_user(app)
    post_form(client, "/auth/login", {"email": user.email, "password": "plausible-Kettle-47-Orbit"})
    logout = post_form(client, "/auth/logout", {}, token_page="/auth/profile")
    assert logout.headers["Location"] == "/auth/login"


def test_wrong_state_is_refused(app, client, auth0):
    url, query = start_sign_in(client)
    tampered = url.replace(f"state={query['state']}", "state=forged")
    response = callback(client, tampered)
    assert response.status_code == 400
    assert "did not work" in response.get_data(as_text=True)
    assert client.get("/auth/profile", headers=JSON).status_code == 401
    assert user_by_sub(app, "auth0|browser-user") is None


def test_a_callback_from_another_browser_is_refused(app, client, auth0):
    url, _ = start_sign_in(client)
    stranger = app.test_client()
    assert callback(stranger, url).status_code == 400
    assert stranger.get("/auth/profile", headers=JSON).status_code == 401


def test_an_error_from_the_provider_is_shown(client, auth0):
    start_sign_in(client)
    response = client.get("/auth/auth0/callback?error=access_denied&state=x", headers=HTML)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"claims": {"nonce": "not-the-one-sent"}}, id="wrong-nonce"),
        pytest.param({"claims": {"aud": "another-client"}}, id="wrong-audience"),
        pytest.param({"claims": {"iss": "https://evil.example/"}}, id="wrong-issuer"),
        pytest.param(
            {"claims": {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}},
            id="expired",
        ),
        pytest.param({"key": "unpublished"}, id="unknown-key"),
    ],
)
def test_a_bad_id_token_shows_the_login_page_with_400(app, client, auth0, bad):
    auth0.id_token_claims = bad.get("claims", {})
    if bad.get("key"):
        auth0.id_token_key = SigningKey.generate()
    url, _ = start_sign_in(client)
    response = callback(client, url)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "did not work" in page
    assert 'name="password"' in page  # the sign-in form again
    assert client.get("/auth/profile", headers=JSON).status_code == 401
    assert user_by_sub(app, "auth0|browser-user") is None


def test_unlinked_browser_user_is_refused_without_auto_provisioning(app, client, auth0):
    app.config["AUTH0_AUTO_PROVISION"] = False
    url, _ = start_sign_in(client)
    response = callback(client, url)
    assert response.status_code == 403
    assert "not linked" in response.get_data(as_text=True)
    assert client.get("/auth/profile", headers=JSON).status_code == 401


def test_disabled_account_cannot_sign_in_with_auth0(app, client, auth0):
    create_user(app, email="browser@example.com", is_active=False)
    url, _ = start_sign_in(client)
    response = callback(client, url)
    assert response.status_code == 403
    assert client.get("/auth/profile", headers=JSON).status_code == 401


def test_provider_unreachable_at_sign_in_answers_503(app, client, auth0):
    app.config["AUTH0_ISSUER_BASE_URL"] = "http://127.0.0.1:9/"
    response = client.get("/auth/auth0/login", headers=HTML)
    assert response.status_code == 503


def test_token_exchange_failure_answers_503(app, client, auth0):
    url, _ = start_sign_in(client)
    app.config["CLIENT_SECRET"] = "wrong-secret"
    app.extensions.pop("auth0_oauth", None)
    response = callback(client, url)
    assert response.status_code == 400
    assert client.get("/auth/profile", headers=JSON).status_code == 401


def test_login_page_offers_auth0_only_when_configured(app, client, provider):
    assert "Sign in with Auth0" not in client.get("/auth/login", headers=HTML).get_data(True)
    assert client.get("/auth/auth0/login", headers=HTML).status_code == 404
    assert client.get("/auth/auth0/callback", headers=JSON).status_code == 404


def test_without_a_public_base_url_the_request_host_is_used(app, client, auth0):
    with configured(app, PUBLIC_BASE_URL=None):
        _, query = start_sign_in(client)
    assert query["redirect_uri"] == "http://localhost/auth/auth0/callback"


def test_login_page_shows_the_auth0_button(client, auth0):
    page = client.get("/auth/login?next=/auth/profile", headers=HTML).get_data(as_text=True)
    assert "Sign in with Auth0" in page
    assert "/auth/auth0/login?next=/auth/profile" in page
    assert csrf_token(client)


def test_forms_may_lead_to_the_tenant_only_when_auth0_sign_in_is_on(app, client, provider):
    policy = client.get("/auth/login", headers=HTML).headers["Content-Security-Policy"]
    assert "form-action 'self';" in policy
    with configured(
        app,
        AUTH0_DOMAIN="127.0.0.1",
        CLIENT_ID=CLIENT_ID,
        CLIENT_SECRET=CLIENT_SECRET,
        AUTH0_ISSUER_BASE_URL=provider.issuer,
    ):
        policy = client.get("/auth/login", headers=HTML).headers["Content-Security-Policy"]
    assert f"form-action 'self' {provider.base_url};" in policy


def test_concurrent_unknown_kids_share_one_fetch(provider):
    """No fetch storm: 32 requests at once with made-up kids (and one good one) cost one fetch."""
    keys = auth0_service.JwksClient(
        f"{provider.issuer}.well-known/jwks.json", timeout=2, max_age=600, min_refresh=60
    )
    provider.jwks_delay, before = 0.3, provider.jwks_requests

    def attempt(kid: str) -> str:
        try:
            return keys.key(kid).key_id or ""
        except InvalidToken:
            return "invalid"

    kids = [uuid.uuid4().hex for _ in range(31)] + [provider.key.kid]
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(attempt, kids))
    finally:
        provider.jwks_delay = 0.0
    assert provider.jwks_requests - before == 1
    assert results[-1] == provider.key.kid
    assert results.count("invalid") == 31
