"""Passkeys through `/api/v1/auth/passkeys` (contract §11), answered by a software authenticator
that signs real assertions: registration, sign-in alone, and every refusal — replayed, expired and
misdirected challenges, a wrong origin, a wrong relying party id, a lowered signature counter,
missing user verification — plus list, rename, remove and the last-way-to-sign-in rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from webauthn.helpers import bytes_to_base64url

from models import AuditEvent, AuthSession, Passkey, PasskeyChallenge, User, db, utcnow
from services import audit_service
from tests.factories import PASSWORD, SignedIn, create_user, login, signed_in_user
from tests.mail_server import configured
from tests.soft_authenticator import AAGUID_TEXT, SoftAuthenticator

pytestmark = pytest.mark.integration

ORIGIN = "https://accounts.example"
RP_ID = "accounts.example"
BASE = "/api/v1/auth/passkeys"


@pytest.fixture
def passkey_app(app: Flask) -> Iterator[Flask]:
    with configured(app, PUBLIC_BASE_URL=f"{ORIGIN}/"):
        yield app


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(ORIGIN, RP_ID)


def register(
    client: FlaskClient, signed: SignedIn, authenticator: SoftAuthenticator, name: str = "Laptop"
) -> dict:
    options = client.post(f"{BASE}/register/options", headers=signed.headers)
    assert options.status_code == 200, options.json
    credential = authenticator.create(options.json["data"])
    response = client.post(
        f"{BASE}/register", json={"credential": credential, "name": name}, headers=signed.headers
    )
    assert response.status_code == 201, response.json
    return response.json["data"]


def login_options(client: FlaskClient) -> dict:
    response = client.post(f"{BASE}/login/options")
    assert response.status_code == 200, response.json
    return response.json["data"]


def sign_in(client: FlaskClient, authenticator: SoftAuthenticator, **changes):
    """Answer fresh sign-in options with the authenticator (`changes`: what it lies about)."""
    credential = authenticator.get(login_options(client), **changes)
    return client.post(f"{BASE}/login", json={"credential": credential})


def events(app: Flask, event_type: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.type == event_type)))


def test_register_then_sign_in_with_the_passkey_alone(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    options = client.post(f"{BASE}/register/options", headers=signed.headers).json["data"]
    assert options["rp"] == {"id": RP_ID, "name": passkey_app.config["PASSKEY_RP_NAME"]}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["user"]["name"] == signed.email
    credential = authenticator.create(options)
    added = client.post(
        f"{BASE}/register",
        json={"credential": credential, "name": " Laptop "},
        headers=signed.headers,
    )
    assert added.status_code == 201, added.json
    passkey = added.json["data"]
    assert set(passkey) == {"id", "name", "created_at", "last_used_at", "transports"}
    assert passkey["name"] == "Laptop"
    assert passkey["last_used_at"] is None
    assert passkey["transports"] == ["internal", "hybrid"]
    with passkey_app.app_context():
        row = db.session.get(Passkey, passkey["id"])
        assert row.aaguid == AAGUID_TEXT
        assert row.credential_id == authenticator.credential_id
        assert row.sign_count == 0

    options = login_options(client)
    assert options["rpId"] == RP_ID
    assert options["userVerification"] == "required"
    assert options["allowCredentials"] == []
    response = client.post(f"{BASE}/login", json={"credential": authenticator.get(options)})

    assert response.status_code == 200, response.json
    data = response.json["data"]
    assert data["user"]["id"] == signed.user_id
    me = client.get("/api/v1/auth/2fa", headers={"Authorization": f"Bearer {data['access_token']}"})
    assert me.status_code == 200
    listed = client.get(BASE, headers=signed.headers).json["data"]["items"]
    assert listed[0]["last_used_at"] is not None
    [used] = events(passkey_app, audit_service.PASSKEY_USED)
    assert used.subject_id == signed.user_id
    [added_event] = events(passkey_app, audit_service.PASSKEY_ADDED)
    assert added_event.details["name"] == "Laptop"
    logins = events(passkey_app, audit_service.LOGIN_SUCCEEDED)
    assert logins[-1].details == {"kind": "api", "method": "passkey", "mfa": True}


def test_a_passkey_satisfies_two_factor(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)
    enrolment = client.post("/api/v1/auth/2fa/enroll", headers=signed.headers).json["data"]
    code = pyotp.TOTP(enrolment["secret"]).now()
    confirmed = client.post("/api/v1/auth/2fa/confirm", json={"code": code}, headers=signed.headers)
    assert confirmed.status_code == 200

    response = sign_in(client, authenticator)

    assert response.status_code == 200
    assert "access_token" in response.json["data"]


def test_a_replayed_challenge_is_refused(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)
    options = login_options(client)
    first = client.post(f"{BASE}/login", json={"credential": authenticator.get(options)})
    assert first.status_code == 200

    replay = client.post(f"{BASE}/login", json={"credential": authenticator.get(options)})

    assert replay.status_code == 401
    assert replay.json["error"]["code"] == "INVALID_CREDENTIALS"
    assert replay.json["error"]["details"] == {"reason": "challenge"}
    [failed] = events(passkey_app, audit_service.LOGIN_FAILED)
    assert failed.details == {"method": "passkey", "reason": "challenge"}


def test_a_challenge_is_spent_even_when_its_answer_fails(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)
    options = login_options(client)
    wrong = client.post(
        f"{BASE}/login",
        json={"credential": authenticator.get(options, origin="https://evil.example")},
    )
    assert wrong.status_code == 401

    retry = client.post(f"{BASE}/login", json={"credential": authenticator.get(options)})

    assert retry.json["error"]["details"] == {"reason": "challenge"}


def test_an_expired_challenge_is_refused(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)
    options = login_options(client)
    with passkey_app.app_context():
        db.session.execute(
            update(PasskeyChallenge).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()

    response = client.post(f"{BASE}/login", json={"credential": authenticator.get(options)})

    assert response.json["error"]["details"] == {"reason": "challenge"}


def test_a_registration_challenge_cannot_sign_in(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)
    options = client.post(f"{BASE}/register/options", headers=signed.headers).json["data"]

    response = client.post(f"{BASE}/login", json={"credential": authenticator.get(options)})

    assert response.json["error"]["details"] == {"reason": "challenge"}


def test_a_wrong_origin_is_refused(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)

    response = sign_in(client, authenticator, origin="https://accounts.example.evil")

    assert response.status_code == 401
    assert response.json["error"]["details"] == {"reason": "verification"}
    [failed] = events(passkey_app, audit_service.LOGIN_FAILED)
    assert failed.subject_id == signed.user_id
    assert "origin" in failed.details["error"]


def test_a_wrong_rp_id_is_refused(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)

    response = sign_in(client, authenticator, rp_id="example")

    assert response.status_code == 401
    [failed] = events(passkey_app, audit_service.LOGIN_FAILED)
    assert failed.details["reason"] == "verification"
    assert "RP ID" in failed.details["error"]


def test_user_verification_is_required(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)

    response = sign_in(client, authenticator, verified=False)

    assert response.status_code == 401
    [failed] = events(passkey_app, audit_service.LOGIN_FAILED)
    assert "verif" in failed.details["error"]


def test_a_lowered_sign_count_is_refused_and_audited(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)
    assert sign_in(client, authenticator, sign_count=7).status_code == 200

    response = sign_in(client, authenticator, sign_count=5)

    assert response.status_code == 401
    assert response.json["error"]["details"] == {"reason": "sign_count"}
    [regressed] = events(passkey_app, audit_service.PASSKEY_SIGN_COUNT_REGRESSED)
    assert regressed.subject_id == signed.user_id
    assert regressed.details["stored"] == 7
    assert regressed.details["presented"] == 5
    with passkey_app.app_context():
        assert db.session.scalars(select(Passkey)).one().sign_count == 7
    assert sign_in(client, authenticator, sign_count=7).status_code == 401


def test_a_counter_that_stays_zero_is_accepted(passkey_app, client, authenticator):
    """Authenticators that keep no counter (synced passkeys) always report 0."""
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)
    for _ in range(2):
        assert sign_in(client, authenticator, sign_count=0).status_code == 200


def test_unknown_and_removed_passkeys_cannot_sign_in(passkey_app, client, authenticator):
    stranger = SoftAuthenticator(ORIGIN, RP_ID)
    response = sign_in(client, stranger)
    assert response.json["error"]["details"] == {"reason": "unknown_passkey"}

    signed = signed_in_user(passkey_app, client)
    first = register(client, signed, authenticator)
    register(client, signed, SoftAuthenticator(ORIGIN, RP_ID), name="Phone")
    assert client.delete(f"{BASE}/{first['id']}", headers=signed.headers).status_code == 200
    response = sign_in(client, authenticator)
    assert response.json["error"]["details"] == {"reason": "unknown_passkey"}


def test_a_wrong_user_handle_is_refused(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)
    authenticator.user_handle = b"\x00" * 8

    response = sign_in(client, authenticator)

    assert response.json["error"]["details"] == {"reason": "owner"}


def test_a_disabled_account_cannot_sign_in_with_its_passkey(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)
    with passkey_app.app_context():
        db.session.execute(update(User).values(is_active=False))
        db.session.commit()

    response = sign_in(client, authenticator)

    assert response.status_code == 403
    assert response.json["error"]["code"] == "ACCOUNT_DISABLED"
    [failed] = events(passkey_app, audit_service.LOGIN_FAILED)
    assert failed.details == {"method": "passkey", "reason": "ACCOUNT_DISABLED"}


@pytest.mark.parametrize(
    "credential",
    [{}, {"id": "x"}, {"id": "AA", "rawId": "AA", "type": "public-key", "response": {}}],
)
def test_malformed_credentials_are_refused(passkey_app, client, credential):
    response = client.post(f"{BASE}/login", json={"credential": credential})

    assert response.status_code == 401
    assert response.json["error"]["details"] == {"reason": "malformed"}


def test_login_body_is_validated(passkey_app, client):
    response = client.post(f"{BASE}/login", json={"credential": "text"})

    assert response.status_code == 400
    assert response.json["error"]["code"] == "VALIDATION_ERROR"


def test_registration_checks_origin_rp_id_and_replay(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    for changes in ({"origin": "https://evil.example"}, {"rp_id": "evil.example"}):
        options = client.post(f"{BASE}/register/options", headers=signed.headers).json["data"]
        credential = authenticator.create(options, **changes)
        response = client.post(
            f"{BASE}/register", json={"credential": credential, "name": "x"}, headers=signed.headers
        )
        assert response.status_code == 400
        assert response.json["error"]["details"]["field"] == "credential"
    options = client.post(f"{BASE}/register/options", headers=signed.headers).json["data"]
    credential = authenticator.create(options)
    body = {"credential": credential, "name": "Laptop"}
    assert client.post(f"{BASE}/register", json=body, headers=signed.headers).status_code == 201
    replay = client.post(f"{BASE}/register", json=body, headers=signed.headers)
    assert replay.status_code == 400
    assert "expired or was already used" in replay.json["error"]["message"] + str(
        replay.json["error"]["details"]
    )
    with passkey_app.app_context():
        assert len(db.session.scalars(select(Passkey)).all()) == 1


@pytest.mark.parametrize("credential", [{}, {"id": "AA", "rawId": "AA", "response": {}}])
def test_malformed_registrations_are_refused(passkey_app, client, credential):
    signed = signed_in_user(passkey_app, client)

    response = client.post(
        f"{BASE}/register", json={"credential": credential, "name": "x"}, headers=signed.headers
    )

    assert response.status_code == 400
    assert response.json["error"]["details"]["field"] == "credential"


@pytest.mark.parametrize("cose_key", [[], [-7], {1: 2, 3: -7}])
def test_a_public_key_the_library_cannot_read_is_refused(
    passkey_app, client, authenticator, cose_key
):
    """The library answers some of these with IndexError or KeyError (found by fuzzing)."""
    signed = signed_in_user(passkey_app, client)
    options = client.post(f"{BASE}/register/options", headers=signed.headers).json["data"]
    credential = authenticator.create(options, cose_key=cose_key)

    response = client.post(
        f"{BASE}/register", json={"credential": credential, "name": "x"}, headers=signed.headers
    )

    assert response.status_code == 400
    assert response.json["error"]["details"]["field"] == "credential"


def test_registering_the_same_credential_twice_is_a_conflict(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    register(client, signed, authenticator)
    options = client.post(f"{BASE}/register/options", headers=signed.headers).json["data"]
    assert options["excludeCredentials"][0]["id"] == credential_id_text(authenticator)

    response = client.post(
        f"{BASE}/register",
        json={"credential": authenticator.create(options), "name": "Again"},
        headers=signed.headers,
    )

    assert response.status_code == 409


def credential_id_text(authenticator: SoftAuthenticator) -> str:
    return bytes_to_base64url(authenticator.credential_id)


def test_another_users_registration_challenge_is_refused(passkey_app, client, authenticator):
    alice = signed_in_user(passkey_app, client)
    bob = signed_in_user(passkey_app, client)
    options = client.post(f"{BASE}/register/options", headers=alice.headers).json["data"]

    response = client.post(
        f"{BASE}/register",
        json={"credential": authenticator.create(options), "name": "Stolen"},
        headers=bob.headers,
    )

    assert response.status_code == 400


def test_adding_a_passkey_needs_a_recent_sign_in(passkey_app, client):
    signed = signed_in_user(passkey_app, client)
    with passkey_app.app_context():
        db.session.execute(update(AuthSession).values(created_at=utcnow() - timedelta(minutes=11)))
        db.session.commit()

    response = client.post(f"{BASE}/register/options", headers=signed.headers)

    assert response.status_code == 403
    assert response.json["error"]["code"] == "FORBIDDEN"
    assert "recent sign-in" in response.json["error"]["message"]


def test_passkeys_need_a_public_base_url(app, client):
    with configured(app, PUBLIC_BASE_URL=None):
        response = client.post(f"{BASE}/login/options")

    assert response.status_code == 503
    assert "PUBLIC_BASE_URL" in response.json["error"]["message"]


def test_list_rename_and_remove(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    laptop = register(client, signed, authenticator)
    phone = register(client, signed, SoftAuthenticator(ORIGIN, RP_ID), name="Phone")
    other = signed_in_user(passkey_app, client)

    listed = client.get(BASE, headers=signed.headers).json["data"]["items"]
    assert [item["name"] for item in listed] == ["Laptop", "Phone"]
    assert client.get(BASE, headers=other.headers).json["data"]["items"] == []
    renamed = client.patch(f"{BASE}/{phone['id']}", json={"name": "Pixel"}, headers=signed.headers)
    assert renamed.status_code == 200
    assert renamed.json["data"]["name"] == "Pixel"
    assert (
        client.patch(
            f"{BASE}/{phone['id']}", json={"name": "Pixel"}, headers=signed.headers
        ).status_code
        == 200
    )
    assert (
        client.patch(
            f"{BASE}/{phone['id']}", json={"name": "   "}, headers=signed.headers
        ).status_code
        == 400
    )
    assert (
        client.patch(f"{BASE}/{phone['id']}", json={"name": "x"}, headers=other.headers).status_code
        == 404
    )
    assert client.delete(f"{BASE}/{laptop['id']}", headers=other.headers).status_code == 404
    assert client.delete(f"{BASE}/{2**70}", headers=signed.headers).status_code == 404

    removed = client.delete(f"{BASE}/{laptop['id']}", headers=signed.headers)
    assert removed.status_code == 200
    assert removed.json["data"] is None
    assert [
        item["name"] for item in client.get(BASE, headers=signed.headers).json["data"]["items"]
    ] == ["Pixel"]
    assert client.delete(f"{BASE}/{laptop['id']}", headers=signed.headers).status_code == 404
    with passkey_app.app_context():
        row = db.session.get(Passkey, laptop["id"])
        assert row.deleted_at is not None
        assert row.deleted_by == signed.user_id
    assert len(events(passkey_app, audit_service.PASSKEY_RENAMED)) == 1
    assert len(events(passkey_app, audit_service.PASSKEY_REMOVED)) == 1


def test_the_last_way_to_sign_in_cannot_be_removed(passkey_app, client, authenticator):
    signed = signed_in_user(passkey_app, client)
    passkey = register(client, signed, authenticator)
    with passkey_app.app_context():
        db.session.execute(update(User).values(password_hash=None))
        db.session.commit()

    response = client.delete(f"{BASE}/{passkey['id']}", headers=signed.headers)

    assert response.status_code == 409
    assert "only way to sign in" in response.json["error"]["message"]
    second = register(client, signed, SoftAuthenticator(ORIGIN, RP_ID), name="Phone")
    assert client.delete(f"{BASE}/{passkey['id']}", headers=signed.headers).status_code == 200
    assert client.delete(f"{BASE}/{second['id']}", headers=signed.headers).status_code == 409


def test_a_password_user_may_remove_their_only_passkey(passkey_app, client, authenticator):
    user = create_user(passkey_app)
    signed = login(client, user.email, PASSWORD)
    passkey = register(client, signed, authenticator)

    assert client.delete(f"{BASE}/{passkey['id']}", headers=signed.headers).status_code == 200


def test_management_needs_a_signed_in_caller(passkey_app, client):
    assert client.get(BASE).status_code == 401
    assert client.post(f"{BASE}/register/options").status_code == 401


def test_adding_and_removing_a_passkey_mail_its_owner(
    passkey_app, mail_app, client, smtp_server, authenticator
):
    user = create_user(passkey_app, email="owner@example.com")
    signed = login(client, user.email, PASSWORD)
    smtp_server.messages.clear()  # whatever the sign-in itself sent

    passkey = register(client, signed, authenticator, name="Work laptop")
    assert client.delete(f"{BASE}/{passkey['id']}", headers=signed.headers).status_code == 200

    added, removed = smtp_server.messages
    assert added.envelope_to == removed.envelope_to == ["owner@example.com"]
    assert added.message["Subject"] == "A passkey was added"
    assert removed.message["Subject"] == "A passkey was removed"
    assert "Work laptop" in added.text and "Work laptop" in removed.text
