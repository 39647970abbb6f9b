"""Passkeys on the browser routes under `/auth` (cookie sessions, CSRF): adding one from the
profile page's script, signing in with it from the login page, the second step of an account with
TOTP, and the profile's rename and remove forms."""

from __future__ import annotations

from collections.abc import Iterator

import pyotp
import pytest
from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from blueprints.rate_limits import MFA_PENDING_KEY
from models import AuditEvent, User, db, utcnow
from services import audit_service, mfa_service
from services.base_service import unit_of_work
from tests.factories import (
    HTML,
    PASSWORD,
    browser_login,
    create_user,
    csrf_token,
    post_form,
)
from tests.mail_server import configured
from tests.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.integration

ORIGIN = "https://accounts.example"
RP_ID = "accounts.example"


@pytest.fixture
def passkey_app(app: Flask) -> Iterator[Flask]:
    with configured(app, PUBLIC_BASE_URL=ORIGIN):
        yield app


def json_post(client: FlaskClient, path: str, body: dict | None = None, token: str | None = None):
    headers = {"X-CSRFToken": token} if token else {}
    return client.post(path, json=body or {}, headers=headers)


def add_passkey(
    client: FlaskClient, authenticator: SoftAuthenticator, name: str = "Laptop"
) -> dict:
    """Add a passkey as the profile page's script does (the client is signed in by cookie)."""
    token = csrf_token(client, "/auth/profile")
    options = json_post(client, "/auth/passkeys/register/options", token=token)
    assert options.status_code == 200, options.json
    credential = authenticator.create(options.json["data"])
    added = json_post(
        client, "/auth/passkeys/register", {"credential": credential, "name": name}, token
    )
    assert added.status_code == 201, added.json
    return added.json["data"]


def signed_in_with_passkey(app: Flask, email: str = "ada@example.com"):
    user = create_user(app, email=email, name="Ada")
    client = app.test_client()
    browser_login(client, user.email)
    authenticator = SoftAuthenticator(ORIGIN, RP_ID)
    passkey = add_passkey(client, authenticator)
    return user, client, authenticator, passkey


def turn_on_totp(app: Flask, user_id: int) -> None:
    with app.app_context(), unit_of_work():
        owner = db.session.get(User, user_id)
        enrolment = mfa_service.start_enrolment(owner)
        mfa_service.confirm_enrolment(owner, pyotp.TOTP(enrolment.secret).now())


def test_sign_in_with_a_passkey_from_the_login_page(passkey_app):
    _, _, authenticator, _ = signed_in_with_passkey(passkey_app)
    client = passkey_app.test_client()
    page = client.get("/auth/login", headers=HTML).get_data(as_text=True)
    assert 'autocomplete="username webauthn"' in page
    assert "data-passkey-sign-in" in page
    assert "js/passkeys.js" in page

    options = json_post(client, "/auth/passkeys/login/options").json["data"]
    response = json_post(
        client,
        "/auth/passkeys/login?next=/auth/2fa/setup",
        {"credential": authenticator.get(options)},
    )

    assert response.status_code == 200, response.json
    assert response.json["data"]["redirect"] == "/auth/2fa/setup"
    assert response.json["data"]["user"]["email"] == "ada@example.com"
    profile = client.get("/auth/profile", headers=HTML).get_data(as_text=True)
    assert "Welcome back, Ada." in profile
    assert "Laptop" in profile
    assert "last used" in profile
    german = client.get("/auth/profile", headers={**HTML, "Accept-Language": "de"})
    today = format_date(utcnow(), "long", locale="de")  # e.g. "6. Dezember 2026"
    assert today in german.get_data(as_text=True), "the passkey's dates follow the page's language"


def test_the_next_page_after_a_passkey_stays_on_this_site(passkey_app):
    _, _, authenticator, _ = signed_in_with_passkey(passkey_app)
    client = passkey_app.test_client()
    options = json_post(client, "/auth/passkeys/login/options").json["data"]

    response = json_post(
        client,
        "/auth/passkeys/login?next=//evil.example/",
        {"credential": authenticator.get(options)},
    )

    assert response.json["data"]["redirect"] == "/auth/profile"


def test_a_refused_passkey_opens_no_session(passkey_app):
    _, _, authenticator, _ = signed_in_with_passkey(passkey_app)
    client = passkey_app.test_client()
    options = json_post(client, "/auth/passkeys/login/options").json["data"]
    credential = authenticator.get(options, origin="https://evil.example")

    response = json_post(client, "/auth/passkeys/login", {"credential": credential})

    assert response.status_code == 401
    assert client.get("/auth/profile", headers=HTML).status_code in (302, 303)


def test_a_passkey_is_the_second_step_of_a_totp_account(passkey_app):
    user, _, authenticator, _ = signed_in_with_passkey(passkey_app)
    turn_on_totp(passkey_app, user.id)

    client = passkey_app.test_client()
    first = post_form(client, "/auth/login", {"email": user.email, "password": PASSWORD})
    assert first.headers["Location"].endswith("/auth/login/mfa")
    page = client.get("/auth/login/mfa", headers=HTML).get_data(as_text=True)
    assert "Use a passkey instead" in page
    options = json_post(client, "/auth/login/mfa/passkey/options").json["data"]
    assert len(options["allowCredentials"]) == 1
    response = json_post(
        client, "/auth/login/mfa/passkey", {"credential": authenticator.get(options)}
    )

    assert response.status_code == 200, response.json
    assert client.get("/auth/profile", headers=HTML).status_code == 200
    with passkey_app.app_context():
        last = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.type == audit_service.LOGIN_SUCCEEDED)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert last.details == {"kind": "browser", "method": "password", "mfa": True}


def test_the_second_step_takes_only_the_pending_accounts_passkeys(passkey_app):
    user, _, _, _ = signed_in_with_passkey(passkey_app)
    _, _, intruder, _ = signed_in_with_passkey(passkey_app, "eve@example.com")
    turn_on_totp(passkey_app, user.id)
    client = passkey_app.test_client()
    post_form(client, "/auth/login", {"email": user.email, "password": PASSWORD})
    options = json_post(client, "/auth/login/mfa/passkey/options").json["data"]

    response = json_post(client, "/auth/login/mfa/passkey", {"credential": intruder.get(options)})

    assert response.status_code == 401
    assert response.json["error"]["details"] == {"reason": "owner"}


def test_the_second_step_needs_a_pending_sign_in(passkey_app, client):
    for path in ("/auth/login/mfa/passkey/options", "/auth/login/mfa/passkey"):
        body = {"credential": {"id": "x"}} if path.endswith("passkey") else {}
        response = json_post(client, path, body)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "INVALID_TOKEN"


def test_the_two_factor_page_offers_passkeys_only_to_accounts_with_one(passkey_app):
    user = create_user(passkey_app)
    turn_on_totp(passkey_app, user.id)
    client = passkey_app.test_client()
    post_form(client, "/auth/login", {"email": user.email, "password": PASSWORD})

    page = client.get("/auth/login/mfa", headers=HTML).get_data(as_text=True)

    assert "Use a passkey instead" not in page


def test_adding_a_passkey_from_the_page_needs_the_csrf_token(passkey_app, client):
    user = create_user(passkey_app)
    browser_login(client, user.email)

    response = json_post(client, "/auth/passkeys/register/options")

    assert response.status_code == 403


def test_rename_and_remove_with_the_profile_forms(passkey_app):
    _, client, _, passkey = signed_in_with_passkey(passkey_app)
    rename = f"/auth/passkeys/{passkey['id']}/rename"
    remove = f"/auth/passkeys/{passkey['id']}/remove"

    renamed = post_form(client, rename, {"passkey_name": "Desk"}, token_page="/auth/profile")
    assert renamed.status_code == 303
    profile = client.get("/auth/profile", headers=HTML).get_data(as_text=True)
    assert "Passkey renamed to “Desk”." in profile

    blank = post_form(client, rename, {"passkey_name": "  "}, token_page="/auth/profile")
    assert blank.status_code == 400
    assert "Name must be 1 to 64 characters" in blank.get_data(as_text=True)

    with passkey_app.app_context():
        db.session.execute(update(User).values(password_hash=None))
        db.session.commit()
    refused = post_form(client, remove, {}, token_page="/auth/profile")
    assert refused.status_code == 409
    assert "only way to sign in" in refused.get_data(as_text=True)

    with passkey_app.app_context():
        db.session.execute(update(User).values(password_hash="x"))
        db.session.commit()
    removed = post_form(client, remove, {}, token_page="/auth/profile")
    assert removed.status_code == 303
    assert "No passkeys yet." in client.get("/auth/profile", headers=HTML).get_data(as_text=True)


def test_json_clients_of_the_profile_routes_get_the_api_answers(passkey_app):
    _, client, _, passkey = signed_in_with_passkey(passkey_app)
    token = csrf_token(client, "/auth/profile")

    renamed = json_post(
        client, f"/auth/passkeys/{passkey['id']}/rename", {"passkey_name": "Desk"}, token
    )
    removed = json_post(client, f"/auth/passkeys/{passkey['id']}/remove", token=token)

    assert renamed.json["data"]["name"] == "Desk"
    assert removed.status_code == 200
    assert removed.json["data"] is None


def test_without_public_base_url_the_pages_offer_no_passkeys(app, client):
    user = create_user(app)
    with configured(app, PUBLIC_BASE_URL=None):
        login_page = client.get("/auth/login", headers=HTML).get_data(as_text=True)
        browser_login(client, user.email)
        profile = client.get("/auth/profile", headers=HTML).get_data(as_text=True)

    assert "data-passkey-sign-in" not in login_page
    assert "data-passkey-register" not in profile
    assert "Adding a passkey needs a browser" in profile


@pytest.mark.parametrize("settings", [{"PUBLIC_BASE_URL": None}, {}])
def test_the_two_factor_page_offers_no_passkey_it_cannot_check(app, settings):
    with configured(app, PUBLIC_BASE_URL=ORIGIN):
        user, _, _, _ = signed_in_with_passkey(app)
        turn_on_totp(app, user.id)
    client = app.test_client()
    post_form(client, "/auth/login", {"email": user.email, "password": PASSWORD})
    if not settings:  # a pending sign-in whose token no longer reads
        with client.session_transaction() as cookie:
            cookie[MFA_PENDING_KEY] = "not-a-token"
    with configured(app, **{"PUBLIC_BASE_URL": ORIGIN, **settings}):
        page = client.get("/auth/login/mfa", headers=HTML).get_data(as_text=True)

    assert "Two-factor code" in page
    assert "Use a passkey instead" not in page


def test_the_passkey_parts_of_the_pages_are_translated(passkey_app):
    _, client, _, _ = signed_in_with_passkey(passkey_app)
    german = {**HTML, "Accept-Language": "de"}

    profile = client.get("/auth/profile", headers=german).get_data(as_text=True)
    login_page = passkey_app.test_client().get("/auth/login", headers=german)

    assert "Passkey hinzufügen" in profile
    assert "Neuer Name für Laptop" in profile
    assert "Mit einem Passkey anmelden" in login_page.get_data(as_text=True)
