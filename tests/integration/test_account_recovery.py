"""Registration, email verification and password reset, with mail read from a real SMTP server."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from models import ActionToken, db, utcnow
from tests.factories import PASSWORD, create_user, login, signed_in_user
from tests.mail_server import configured, first_link

pytestmark = pytest.mark.integration

NEW_PASSWORD = "another-Lantern-93-Quartz"
# Nothing listens on port 1: every delivery attempt fails at once.
MAIL_DOWN = {
    "MAIL_BACKEND": "smtp",
    "MAIL_SERVER": "127.0.0.1",
    "MAIL_PORT": 1,
    "MAIL_USE_TLS": False,
}


def token_from(mail, path):
    link = first_link(mail, path)
    return parse_qs(urlsplit(link).query)["token"][0]


def code(response):
    return response.json["error"]["code"]


# --- registration and verification ------------------------------------------------------------


def test_register_creates_a_user_and_mails_a_verification_link(mail_app, client, smtp_server):
    response = client.post(
        "/auth/register",
        json={"email": "Grace@Example.com", "password": PASSWORD, "name": "Grace Hopper"},
    )
    assert response.status_code == 201
    data = response.json["data"]
    assert data["email"] == "grace@example.com"
    assert data["role"] == "user"
    assert data["email_verified"] is False

    (mail,) = smtp_server.messages
    assert mail.envelope_to == ["grace@example.com"]
    token = token_from(mail, "/auth/verify-email")

    verified = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200
    assert verified.json["data"]["email_verified"] is True
    again = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert again.status_code == 401, "verification tokens are single-use"
    assert code(again) == "INVALID_TOKEN"


def test_register_cannot_choose_a_role(mail_app, client):
    response = client.post(
        "/auth/register",
        json={"email": "g@example.com", "password": PASSWORD, "name": "G", "role": "admin"},
    )
    assert response.status_code == 400
    assert response.json["error"]["details"]["field"] == "role"


def test_register_with_a_taken_email_is_409(mail_app, app, client, smtp_server):
    create_user(app, email="taken@example.com")
    response = client.post(
        "/auth/register", json={"email": "TAKEN@example.com", "password": PASSWORD, "name": "T"}
    )
    assert response.status_code == 409
    assert smtp_server.messages == []


def test_register_applies_the_password_policy(mail_app, client, smtp_server):
    response = client.post(
        "/auth/register",
        json={"email": "p@example.com", "password": "password1234", "name": "P"},
    )
    assert response.status_code == 400
    assert response.json["error"]["details"]["errors"] == [
        {"field": "password", "error": "Password is too common"}
    ]
    assert smtp_server.messages == []


def test_register_succeeds_when_mail_is_down(app, client):
    with configured(
        app, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_USE_TLS=False
    ):
        response = client.post(
            "/auth/register", json={"email": "m@example.com", "password": PASSWORD, "name": "M"}
        )
    assert response.status_code == 201
    login(client, "m@example.com")


def test_send_verification_email_mails_a_fresh_link(mail_app, app, client, smtp_server):
    session = signed_in_user(app, client)
    first = client.post("/api/v1/auth/send-verification-email", headers=session.headers)
    second = client.post("/api/v1/auth/send-verification-email", headers=session.headers)
    assert (first.status_code, second.status_code) == (202, 202)
    old, new = (token_from(m, "/auth/verify-email") for m in smtp_server.messages)
    assert client.post("/api/v1/auth/verify-email", json={"token": old}).status_code == 401
    assert client.post("/api/v1/auth/verify-email", json={"token": new}).status_code == 200
    third = client.post("/api/v1/auth/send-verification-email", headers=session.headers)
    assert third.status_code == 202
    assert len(smtp_server.messages) == 2, "nothing to send once verified"


def test_send_verification_email_needs_a_token(client):
    assert client.post("/api/v1/auth/send-verification-email").status_code == 401


def test_verification_link_dies_when_the_email_changes(mail_app, app, client, smtp_server):
    session = signed_in_user(app, client)
    client.post("/api/v1/auth/send-verification-email", headers=session.headers)
    token = token_from(smtp_server.messages[0], "/auth/verify-email")
    asked = client.post(
        "/api/v1/auth/email",
        json={"new_email": "moved@example.com", "current_password": PASSWORD},
        headers=session.headers,
    )
    assert asked.status_code == 202
    (confirmation,) = [m for m in smtp_server.messages if m.envelope_to == ["moved@example.com"]]
    confirm = token_from(confirmation, "/auth/email/confirm")
    assert client.post("/api/v1/auth/email/confirm", json={"token": confirm}).status_code == 200
    assert client.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 401


# --- forgotten password -----------------------------------------------------------------------


def forgot(client, email):
    return client.post("/api/v1/auth/forgot-password", json={"email": email})


def test_forgot_password_answers_the_same_for_unknown_emails(mail_app, app, client, smtp_server):
    create_user(app, email="known@example.com")
    known = forgot(client, "known@example.com")
    unknown = forgot(client, "unknown@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.json["message"] == unknown.json["message"]
    assert known.json["data"] is unknown.json["data"] is None
    assert [m.envelope_to for m in smtp_server.messages] == [["known@example.com"]]


def test_forgot_password_hides_mail_outages(app, client):
    create_user(app, email="known@example.com")
    with configured(
        app, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_USE_TLS=False
    ):
        response = forgot(client, "known@example.com")
    assert response.status_code == 202


def test_reset_password_sets_it_and_ends_every_session(mail_app, app, client, smtp_server):
    user = create_user(app, email="reset@example.com")
    session = login(client, user.email)
    forgot(client, user.email)
    token = token_from(smtp_server.messages[0], "/auth/reset-password")

    response = client.post(
        "/api/v1/auth/reset-password", json={"token": token, "password": NEW_PASSWORD}
    )
    assert response.status_code == 200
    assert client.get("/auth/profile", headers=session.headers).status_code == 401
    login(client, user.email, NEW_PASSWORD)
    old = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert old.status_code == 401
    reused = client.post(
        "/api/v1/auth/reset-password", json={"token": token, "password": PASSWORD + "-x"}
    )
    assert reused.status_code == 401


def test_only_the_newest_reset_link_works(mail_app, app, client, smtp_server):
    create_user(app, email="reset@example.com")
    forgot(client, "reset@example.com")
    forgot(client, "reset@example.com")
    old, new = (token_from(m, "/auth/reset-password") for m in smtp_server.messages)
    body = {"password": NEW_PASSWORD}
    assert (
        client.post("/api/v1/auth/reset-password", json={"token": old, **body}).status_code == 401
    )
    assert (
        client.post("/api/v1/auth/reset-password", json={"token": new, **body}).status_code == 200
    )


def test_expired_reset_link_is_refused(mail_app, app, client, smtp_server):
    create_user(app, email="reset@example.com")
    forgot(client, "reset@example.com")
    token = token_from(smtp_server.messages[0], "/auth/reset-password")
    with app.app_context():
        for row in db.session.query(ActionToken):
            row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = client.post(
        "/api/v1/auth/reset-password", json={"token": token, "password": NEW_PASSWORD}
    )
    assert response.status_code == 401


def test_reset_with_a_weak_password_keeps_the_token(mail_app, app, client, smtp_server):
    create_user(app, email="reset@example.com")
    forgot(client, "reset@example.com")
    token = token_from(smtp_server.messages[0], "/auth/reset-password")
    weak = client.post("/api/v1/auth/reset-password", json={"token": token, "password": "short"})
    assert weak.status_code == 400
    ok = client.post("/api/v1/auth/reset-password", json={"token": token, "password": NEW_PASSWORD})
    assert ok.status_code == 200


def test_disabled_accounts_get_no_reset_mail(mail_app, app, client, smtp_server):
    create_user(app, email="off@example.com", is_active=False)
    assert forgot(client, "off@example.com").status_code == 202
    assert smtp_server.messages == []


def test_garbage_reset_token_is_refused(client):
    response = client.post(
        "/api/v1/auth/reset-password", json={"token": "nope", "password": NEW_PASSWORD}
    )
    assert response.status_code == 401
