"""Two-factor authentication on the API: enrol, confirm, sign in with a code, replay, disable."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import text

from models import UserMfa, db, utcnow
from tests.factories import PASSWORD, create_user, login, signed_in_user

pytestmark = pytest.mark.integration


def code_at(secret: str, offset_steps: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(utcnow()) + offset_steps)


def enrol(client, signed) -> tuple[str, list[str]]:
    response = client.post("/api/v1/auth/2fa/enroll", headers=signed.headers)
    assert response.status_code == 200, response.json
    data = response.json["data"]
    assert data["qr_svg"].startswith("<svg")
    assert data["otpauth_uri"].startswith("otpauth://totp/")
    secret = data["secret"]
    response = client.post(
        "/api/v1/auth/2fa/confirm", json={"code": code_at(secret)}, headers=signed.headers
    )
    assert response.status_code == 200, response.json
    codes = response.json["data"]["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def start_login(client, email: str) -> str:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.json
    data = response.json["data"]
    assert data["mfa_required"] is True and data["expires_in"] == 300
    assert "access_token" not in data
    return data["mfa_token"]


def test_enrol_confirm_and_sign_in_with_a_code(app, client):
    signed = signed_in_user(app, client)
    secret, _ = enrol(client, signed)
    assert client.get("/api/v1/auth/2fa", headers=signed.headers).json["data"] == {
        "enabled": True,
        "pending": False,
        "recovery_codes_left": 10,
    }
    mfa_token = start_login(client, signed.email)
    # The confirming code was used: the same step is refused, the next one works. The replay is
    # the confirming step's own code, not the current step's: a 30-second boundary may have
    # passed since (the test failed once in CI that way).
    with app.app_context():
        confirmed_step = db.session.get(UserMfa, signed.user_id).last_used_step
    confirming_code = pyotp.TOTP(secret).generate_otp(confirmed_step)
    replay = client.post("/api/v1/auth/mfa", json={"mfa_token": mfa_token, "code": confirming_code})
    assert replay.status_code == 401
    assert replay.json["error"]["code"] == "INVALID_MFA_CODE"
    fresh = code_at(secret, 1)
    response = client.post("/api/v1/auth/mfa", json={"mfa_token": mfa_token, "code": fresh})
    assert response.status_code == 200, response.json
    assert response.json["data"]["access_token"]
    assert response.json["data"]["user"]["id"] == signed.user_id
    again = client.post("/api/v1/auth/mfa", json={"mfa_token": mfa_token, "code": fresh})
    assert again.status_code == 401


def test_secret_is_encrypted_at_rest(app, client):
    signed = signed_in_user(app, client)
    secret, _ = enrol(client, signed)
    with app.app_context():
        stored = db.session.execute(text("SELECT secret FROM user_mfa")).scalar_one()
        assert secret not in stored and stored.startswith("gAAAA")
        assert db.session.get(UserMfa, signed.user_id).secret == secret


def test_recovery_code_works_once(app, client):
    signed = signed_in_user(app, client)
    _, codes = enrol(client, signed)
    mfa_token = start_login(client, signed.email)
    body = {"mfa_token": mfa_token, "code": codes[0].upper()}
    assert client.post("/api/v1/auth/mfa", json=body).status_code == 200
    assert client.post("/api/v1/auth/mfa", json=body).status_code == 401
    status = client.get("/api/v1/auth/2fa", headers=signed.headers).json["data"]
    assert status["recovery_codes_left"] == 9


def test_bad_mfa_tokens_are_refused(app, client):
    signed = signed_in_user(app, client)
    response = client.post("/api/v1/auth/mfa", json={"mfa_token": "nope", "code": "123456"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "INVALID_TOKEN"
    # An access token is not an mfa_token.
    body = {"mfa_token": signed.access_token, "code": "123456"}
    assert client.post("/api/v1/auth/mfa", json=body).status_code == 401


def test_wrong_codes_are_rate_limited(app, client):
    signed = signed_in_user(app, client)
    enrol(client, signed)
    mfa_token = start_login(client, signed.email)
    statuses = [
        client.post("/api/v1/auth/mfa", json={"mfa_token": mfa_token, "code": "000000"}).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]


def test_confirm_needs_the_right_code_and_an_enrolment(app, client):
    signed = signed_in_user(app, client)
    response = client.post(
        "/api/v1/auth/2fa/confirm", json={"code": "123456"}, headers=signed.headers
    )
    assert response.status_code == 404
    client.post("/api/v1/auth/2fa/enroll", headers=signed.headers)
    status = client.get("/api/v1/auth/2fa", headers=signed.headers).json["data"]
    assert status == {"enabled": False, "pending": True, "recovery_codes_left": 0}
    response = client.post(
        "/api/v1/auth/2fa/confirm", json={"code": "not-a-code"}, headers=signed.headers
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "INVALID_MFA_CODE"
    # Still no 2FA: login answers tokens.
    assert login(client, signed.email).access_token


def test_enrol_twice_after_confirming_is_a_conflict(app, client):
    signed = signed_in_user(app, client)
    secret, _ = enrol(client, signed)
    assert client.post("/api/v1/auth/2fa/enroll", headers=signed.headers).status_code == 409
    response = client.post(
        "/api/v1/auth/2fa/confirm", json={"code": code_at(secret, 1)}, headers=signed.headers
    )
    assert response.status_code == 409


def test_disable_needs_a_code(app, client):
    signed = signed_in_user(app, client)
    assert (
        client.post("/api/v1/auth/2fa/disable", json={"code": "123456"}, headers=signed.headers)
    ).status_code == 404
    _, codes = enrol(client, signed)
    wrong = client.post("/api/v1/auth/2fa/disable", json={"code": "123456"}, headers=signed.headers)
    assert wrong.status_code == 401
    ok = client.post("/api/v1/auth/2fa/disable", json={"code": codes[3]}, headers=signed.headers)
    assert ok.status_code == 200, ok.json
    assert login(client, signed.email).access_token


def test_disabled_account_cannot_finish(app, client):
    user = create_user(app)
    signed = login(client, user.email)
    secret, _ = enrol(client, signed)
    mfa_token = start_login(client, user.email)
    with app.app_context():
        db.session.execute(text("UPDATE users SET is_active = false"))
        db.session.commit()
    body = {"mfa_token": mfa_token, "code": code_at(secret, 1)}
    assert client.post("/api/v1/auth/mfa", json=body).status_code == 403


def test_json_clients_of_the_auth_pages_get_the_api_answers(app, client):
    signed = signed_in_user(app, client)
    first = client.post("/auth/2fa/enroll", headers=signed.headers).json["data"]["secret"]
    # Enrolling again before confirming replaces the secret.
    secret = client.post("/auth/2fa/enroll", headers=signed.headers).json["data"]["secret"]
    assert secret != first
    pending = client.get("/auth/2fa/setup", headers=signed.headers).json["data"]
    assert pending["secret"] == secret
    response = client.post(
        "/auth/2fa/confirm", json={"code": code_at(secret)}, headers=signed.headers
    )
    assert len(response.json["data"]["recovery_codes"]) == 10
    codes = response.json["data"]["recovery_codes"]
    response = client.post("/auth/2fa/disable", json={"code": codes[0]}, headers=signed.headers)
    assert response.status_code == 200
    assert response.json["data"] is None
    assert client.get("/auth/2fa/setup", headers=signed.headers).json["data"] is None


def test_browser_mfa_token_is_refused_on_the_api(app, client):
    from services import mfa_service

    signed = signed_in_user(app, client)
    with app.app_context():
        browser_token = mfa_service.encode_mfa_token(signed.user_id, "browser")
        assert mfa_service.verify_for_login(signed.user_id, "123456") is None
    body = {"mfa_token": browser_token, "code": "123456"}
    response = client.post("/api/v1/auth/mfa", json=body)
    assert response.json["error"]["code"] == "INVALID_TOKEN"


def test_malformed_authorization_on_a_code_route(app, client):
    response = client.post(
        "/api/v1/auth/2fa/confirm", json={"code": "123456"}, headers={"Authorization": "Basic x"}
    )
    assert response.status_code == 401


def test_the_old_v1_login_cannot_skip_the_second_factor(app, client):
    signed = signed_in_user(app, client)
    enrol(client, signed)
    response = client.post("/v1/auth/login", json={"email": signed.email, "password": PASSWORD})
    assert response.status_code == 401
    assert response.json["code"] == 401
    assert "tokens" not in response.json
