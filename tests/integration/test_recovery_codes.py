"""Regenerating the two-factor recovery codes (contract §9): confirmed by the password or an app
code; the old codes stop working; wrong proofs count toward the lockout."""

from __future__ import annotations

import pytest

from models import AuditEvent, db
from services import audit_service
from tests.factories import PASSWORD, signed_in_user
from tests.integration.test_mfa_api import code_at, enrol, start_login
from tests.mail_server import configured

pytestmark = pytest.mark.integration

PATH = "/api/v1/auth/2fa/recovery-codes"
WRONG = "not-the-Password-00"


def code(response):
    return response.json["error"]["code"]


def sign_in_with(client, email, second_factor):
    token = start_login(client, email)
    return client.post("/api/v1/auth/mfa", json={"mfa_token": token, "code": second_factor})


@pytest.fixture
def enrolled(app, client):
    signed = signed_in_user(app, client)
    secret, codes = enrol(client, signed)
    return signed, secret, codes


def test_the_password_makes_new_codes_and_the_old_ones_stop_working(app, client, enrolled):
    signed, _, old_codes = enrolled
    response = client.post(PATH, json={"password": PASSWORD}, headers=signed.headers)
    assert response.status_code == 200, response.json
    new_codes = response.json["data"]["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    refused = sign_in_with(client, signed.email, old_codes[0])
    assert refused.status_code == 401 and code(refused) == "INVALID_MFA_CODE"
    assert sign_in_with(client, signed.email, new_codes[0]).status_code == 200
    status = client.get("/api/v1/auth/2fa", headers=signed.headers).json["data"]
    assert status["recovery_codes_left"] == 9
    with app.app_context():
        event = (
            db.session.query(AuditEvent)
            .filter_by(type=audit_service.MFA_RECOVERY_CODES_REGENERATED)
            .one()
        )
        assert (event.actor_id, event.subject_id) == (signed.user_id, signed.user_id)


def test_a_code_from_the_app_makes_new_codes(client, enrolled):
    signed, secret, _ = enrolled
    fresh = code_at(secret, 1)
    response = client.post(PATH, json={"code": fresh}, headers=signed.headers)
    assert response.status_code == 200, response.json
    assert len(response.json["data"]["recovery_codes"]) == 10
    # The same code again (not the step after now's, which a 30-second boundary may move on).
    replay = client.post(PATH, json={"code": fresh}, headers=signed.headers)
    assert replay.status_code == 401 and code(replay) == "INVALID_MFA_CODE"


def test_a_recovery_code_does_not_confirm(client, enrolled):
    signed, _, old_codes = enrolled
    response = client.post(PATH, json={"code": old_codes[0]}, headers=signed.headers)
    assert response.status_code == 401 and code(response) == "INVALID_MFA_CODE"
    assert sign_in_with(client, signed.email, old_codes[0]).status_code == 200, "not consumed"


def test_a_wrong_password_changes_nothing(client, enrolled):
    signed, _, old_codes = enrolled
    response = client.post(PATH, json={"password": WRONG}, headers=signed.headers)
    assert response.status_code == 400 and code(response) == "VALIDATION_ERROR"
    assert response.json["error"]["details"]["field"] == "password"
    assert WRONG not in response.get_data(as_text=True)
    assert sign_in_with(client, signed.email, old_codes[0]).status_code == 200


@pytest.mark.parametrize(
    "body", [{}, {"password": PASSWORD, "code": "123456"}, {"code": "12"}, {"extra": 1}]
)
def test_exactly_one_proof_is_required(client, enrolled, body):
    signed, _, _ = enrolled
    response = client.post(PATH, json=body, headers=signed.headers)
    assert response.status_code == 400 and code(response) == "VALIDATION_ERROR"


def test_without_two_factor_it_says_so(app, client):
    signed = signed_in_user(app, client)
    response = client.post(PATH, json={"password": PASSWORD}, headers=signed.headers)
    assert response.status_code == 404 and code(response) == "NOT_FOUND"
    assert response.json["error"]["message"] == "Two-factor authentication is not enabled"


def test_needs_a_token(client):
    assert client.post(PATH, json={"password": PASSWORD}).status_code == 401


def test_wrong_passwords_lock_it_like_other_rechecks(app, client, enrolled):
    signed, _, _ = enrolled
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="3/minute"):
        statuses = [
            client.post(PATH, json={"password": WRONG}, headers=signed.headers).status_code
            for _ in range(4)
        ]
        assert statuses == [400, 400, 400, 429]
        right = client.post(PATH, json={"password": PASSWORD}, headers=signed.headers)
        assert right.status_code == 429, "the right password is refused while locked"
        assert code(right) == "RATE_LIMITED" and int(right.headers["Retry-After"]) > 0


def test_wrong_codes_lock_it_like_other_code_checks(app, client, enrolled):
    signed, secret, _ = enrolled
    with configured(app, RATELIMIT_MFA="2/minute"):
        statuses = [
            client.post(PATH, json={"code": "000000"}, headers=signed.headers).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 429]
        right = client.post(PATH, json={"code": code_at(secret)}, headers=signed.headers)
        assert right.status_code == 429, "the right code is refused while locked"
