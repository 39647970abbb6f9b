"""Changing one's email address: asked with the password, finished by the link mailed to the new
address, undone by the link mailed to the old one; mail read from a real SMTP server."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from models import ActionToken, AuditEvent, User, db, utcnow
from services import audit_service
from services.auth.email_change import deliver_confirmation
from services.security_notices import NOTICES, Notice
from tests.factories import (
    HTML,
    PASSWORD,
    browser_login,
    create_user,
    login,
    post_form,
    signed_in_user,
)
from tests.mail_server import configured, first_link

pytestmark = pytest.mark.integration

OLD = "ada@example.com"
NEW = "ada.lovelace@example.org"
WRONG = "not-the-Password-00"
REQUESTED = str(NOTICES[Notice.EMAIL_CHANGE_REQUESTED].subject)


@pytest.fixture
def ada(app, client):
    return signed_in_user(app, client, email=OLD, name="Ada")


def ask(client, headers, new_email=NEW, password=PASSWORD):
    return client.post(
        "/api/v1/auth/email",
        json={"new_email": new_email, "current_password": password},
        headers=headers,
    )


def token_in(mail, path):
    return parse_qs(urlsplit(first_link(mail, path)).query)["token"][0]


def mail_to(server, address):
    return [mail for mail in server.messages if mail.envelope_to == [address]]


def stored(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.email, user.email_verified


def events(app, event_type):
    with app.app_context():
        return [
            event.details
            for event in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))
            if event.type == event_type
        ]


# --- the API ------------------------------------------------------------------------------------


def test_the_change_happens_only_when_the_new_address_confirms(
    mail_app, app, client, smtp_server, ada
):
    response = ask(client, ada.headers, new_email="  Ada.Lovelace@Example.ORG ")
    assert response.status_code == 202
    assert response.json["data"] is None
    assert stored(app, ada.user_id) == (OLD, False), "nothing changes before the link is followed"

    (confirmation,) = mail_to(smtp_server, NEW)
    assert confirmation.message["Subject"] == "Confirm your new email address"
    assert OLD in confirmation.text
    (notice,) = mail_to(smtp_server, OLD)
    assert notice.message["Subject"] == REQUESTED
    assert NEW in notice.text and NEW in notice.html
    assert "127.0.0.1" in notice.text
    undo = token_in(notice, "/auth/email/undo")
    confirm = token_in(confirmation, "/auth/email/confirm")
    assert confirm not in notice.text and undo not in confirmation.text
    assert PASSWORD not in notice.text + confirmation.text

    done = client.post("/api/v1/auth/email/confirm", json={"token": confirm})
    assert done.status_code == 200
    assert (done.json["data"]["email"], done.json["data"]["email_verified"]) == (NEW, True)
    assert stored(app, ada.user_id) == (NEW, True)
    assert client.get("/auth/profile", headers=ada.headers).status_code == 200, "sessions stay"
    assert login(client, NEW).user_id == ada.user_id

    again = client.post("/api/v1/auth/email/confirm", json={"token": confirm})
    assert again.status_code == 401, "the confirmation link is single-use"
    assert again.json["error"]["code"] == "INVALID_TOKEN"
    assert events(app, audit_service.EMAIL_CHANGE_REQUESTED) == [{"to": NEW}]
    assert events(app, audit_service.EMAIL_CHANGED) == [{"from": OLD, "to": NEW, "by": "link"}]


def test_undo_after_the_change_restores_the_old_address_and_ends_every_session(
    mail_app, app, client, smtp_server, ada
):
    other = login(client, OLD)
    ask(client, ada.headers)
    undo = token_in(mail_to(smtp_server, OLD)[0], "/auth/email/undo")
    confirm = token_in(mail_to(smtp_server, NEW)[0], "/auth/email/confirm")
    client.post("/api/v1/auth/email/confirm", json={"token": confirm})

    response = client.post("/api/v1/auth/email/undo", json={"token": undo})

    assert response.status_code == 200
    assert stored(app, ada.user_id) == (OLD, True)
    for session in (ada, other):
        assert client.get("/auth/profile", headers=session.headers).status_code == 401
        refreshed = client.post(
            "/api/v1/auth/refresh", json={"refresh_token": session.refresh_token}
        )
        assert refreshed.status_code == 401
    assert client.post("/api/v1/auth/email/undo", json={"token": undo}).status_code == 401
    assert events(app, audit_service.EMAIL_CHANGE_UNDONE) == [{"from": NEW, "to": OLD}]
    assert login(client, OLD).user_id == ada.user_id


def test_undo_before_the_confirmation_drops_the_pending_change(
    mail_app, app, client, smtp_server, ada
):
    ask(client, ada.headers)
    undo = token_in(mail_to(smtp_server, OLD)[0], "/auth/email/undo")
    confirm = token_in(mail_to(smtp_server, NEW)[0], "/auth/email/confirm")

    assert client.post("/api/v1/auth/email/undo", json={"token": undo}).status_code == 200

    assert client.get("/auth/profile", headers=ada.headers).status_code == 401
    assert client.post("/api/v1/auth/email/confirm", json={"token": confirm}).status_code == 401
    assert stored(app, ada.user_id) == (OLD, False)


def test_undo_is_refused_when_the_old_address_has_a_new_owner(
    mail_app, app, client, smtp_server, ada
):
    ask(client, ada.headers)
    undo = token_in(mail_to(smtp_server, OLD)[0], "/auth/email/undo")
    confirm = token_in(mail_to(smtp_server, NEW)[0], "/auth/email/confirm")
    client.post("/api/v1/auth/email/confirm", json={"token": confirm})
    create_user(app, email=OLD)

    response = client.post("/api/v1/auth/email/undo", json={"token": undo})

    assert response.status_code == 409
    assert stored(app, ada.user_id) == (NEW, True)
    assert client.get("/auth/profile", headers=ada.headers).status_code == 200


def test_the_undo_link_works_for_7_days(mail_app, app, client, smtp_server, ada):
    ask(client, ada.headers)
    undo = token_in(mail_to(smtp_server, OLD)[0], "/auth/email/undo")
    with app.app_context():
        token = db.session.scalars(
            db.select(ActionToken).where(ActionToken.purpose == "undo_email_change")
        ).one()
        lifetime = token.expires_at - token.created_at
        assert timedelta(days=7) - timedelta(seconds=5) < lifetime <= timedelta(days=7)
        token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.post("/api/v1/auth/email/undo", json={"token": undo}).status_code == 401


def test_a_new_request_replaces_the_pending_one_but_keeps_the_way_back(
    mail_app, app, client, smtp_server, ada
):
    ask(client, ada.headers)
    ask(client, ada.headers, new_email="third@example.com")
    first_confirm = token_in(mail_to(smtp_server, NEW)[0], "/auth/email/confirm")
    first_undo = token_in(mail_to(smtp_server, OLD)[0], "/auth/email/undo")
    second_confirm = token_in(mail_to(smtp_server, "third@example.com")[0], "/auth/email/confirm")

    stale = client.post("/api/v1/auth/email/confirm", json={"token": first_confirm})
    assert stale.status_code == 401
    assert (
        client.post("/api/v1/auth/email/confirm", json={"token": second_confirm}).status_code == 200
    )
    assert client.post("/api/v1/auth/email/undo", json={"token": first_undo}).status_code == 200
    assert stored(app, ada.user_id) == (OLD, True)


def test_confirming_an_address_taken_meanwhile_is_409(mail_app, app, client, smtp_server, ada):
    ask(client, ada.headers)
    confirm = token_in(mail_to(smtp_server, NEW)[0], "/auth/email/confirm")
    create_user(app, email=NEW)
    response = client.post("/api/v1/auth/email/confirm", json={"token": confirm})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "CONFLICT"
    assert stored(app, ada.user_id) == (OLD, False)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"new_email": NEW, "current_password": WRONG}, 400, "current_password"),
        ({"new_email": "not-an-email", "current_password": PASSWORD}, 400, "new_email"),
        ({"new_email": OLD.upper(), "current_password": PASSWORD}, 400, "new_email"),
        ({"new_email": NEW}, 400, "current_password"),
        ({"new_email": NEW, "current_password": PASSWORD, "name": "X"}, 400, "name"),
        ({"new_email": "root@example.com", "current_password": PASSWORD}, 409, None),
    ],
)
def test_a_refused_request_changes_and_mails_nothing(
    mail_app, app, client, smtp_server, ada, body, status, field
):
    create_user(app, email="root@example.com")
    response = client.post("/api/v1/auth/email", json=body, headers=ada.headers)
    assert response.status_code == status
    if field:
        assert response.json["error"]["details"]["field"] == field
    else:
        assert response.json["error"] == {
            "code": "CONFLICT",
            "message": "Email already registered",
            "details": {},
        }
    assert smtp_server.messages == []
    assert stored(app, ada.user_id) == (OLD, False)
    assert events(app, audit_service.EMAIL_CHANGE_REQUESTED) == []


def test_the_request_needs_a_bearer_token(client):
    response = client.post("/api/v1/auth/email", json={"new_email": NEW, "current_password": "x"})
    assert response.status_code == 401


def test_wrong_passwords_lock_the_email_change(app, client, ada):
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="3/minute"):
        statuses = [ask(client, ada.headers, password=WRONG).status_code for _ in range(4)]
        assert statuses == [400, 400, 400, 429]
        assert ask(client, ada.headers).status_code == 429


@pytest.mark.parametrize("path", ["/api/v1/auth/email/confirm", "/api/v1/auth/email/undo"])
@pytest.mark.parametrize("token", ["unknown-token", "bad token!"])
def test_unknown_tokens_are_refused(client, path, token):
    response = client.post(path, json={"token": token})
    assert response.status_code in (400, 401)


def test_a_reset_link_does_not_confirm_an_email_change(mail_app, app, client, smtp_server, ada):
    client.post("/api/v1/auth/forgot-password", json={"email": OLD})
    reset = token_in(smtp_server.messages[0], "/auth/reset-password")
    assert client.post("/api/v1/auth/email/confirm", json={"token": reset}).status_code == 401
    assert client.post("/api/v1/auth/email/undo", json={"token": reset}).status_code == 401


# --- administrators and the old contract --------------------------------------------------------


def assert_changed_directly(app, smtp_server, user, new_email, notice):
    """The address changed at once, unconfirmed, and only the old address was told."""
    assert stored(app, user.user_id) == (new_email, False)
    (mail,) = smtp_server.messages
    assert mail.envelope_to == [OLD]
    assert mail.message["Subject"] == str(NOTICES[notice].subject)
    assert new_email in mail.text


def test_an_admin_sets_an_email_directly_audited_and_the_old_address_told(
    mail_app, app, client, smtp_server, ada
):
    admin = signed_in_user(app, client, email="root@example.com", role="admin", name="Root")
    ask(client, ada.headers)
    pending = token_in(mail_to(smtp_server, NEW)[0], "/auth/email/confirm")
    smtp_server.messages.clear()

    response = client.patch(
        f"/api/v1/users/{ada.user_id}", json={"email": "set@example.com"}, headers=admin.headers
    )

    assert response.status_code == 200
    assert_changed_directly(app, smtp_server, ada, "set@example.com", Notice.EMAIL_CHANGED_BY_ADMIN)
    assert events(app, audit_service.EMAIL_CHANGED) == [
        {"from": OLD, "to": "set@example.com", "by": "admin"}
    ]
    assert client.post("/api/v1/auth/email/confirm", json={"token": pending}).status_code == 401


def test_v1_keeps_the_direct_change_of_ones_own_email(mail_app, app, client, smtp_server, ada):
    with app.app_context():
        legacy_id = db.session.get(User, ada.user_id).legacy_id
    response = client.patch(
        f"/v1/users/{legacy_id}", json={"email": "direct@example.com"}, headers=ada.headers
    )
    assert response.status_code == 200
    assert_changed_directly(app, smtp_server, ada, "direct@example.com", Notice.EMAIL_CHANGED)
    assert events(app, audit_service.EMAIL_CHANGED)[0]["by"] == "direct"


# --- the pages ----------------------------------------------------------------------------------


def page(response):
    return response.get_data(as_text=True)


def post_email_form(client, new_email, password=PASSWORD):
    """The profile's "Change your email address" form, as a signed-in browser posts it."""
    return post_form(
        client,
        "/auth/email",
        {"new_email": new_email, "current_password": password},
        token_page="/auth/profile",
    )


def test_the_profile_page_asks_for_a_new_address(mail_app, app, client, smtp_server):
    user = create_user(app, email=OLD)
    browser_login(client, OLD)
    profile = client.get("/auth/profile", headers=HTML)
    assert "Change your email address" in page(profile)

    response = post_email_form(client, NEW)

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/auth/profile")
    assert NEW in page(client.get("/auth/profile", headers=HTML))
    assert [m.envelope_to for m in smtp_server.messages] == [[OLD], [NEW]]
    assert stored(app, user.id) == (OLD, False)


def test_the_profile_form_shows_a_wrong_password_next_to_its_field(mail_app, app, client):
    create_user(app, email=OLD)
    browser_login(client, OLD)
    response = post_email_form(client, NEW, WRONG)
    assert response.status_code == 400
    html = page(response)
    assert 'id="email_current_password-error"' in html
    assert f'value="{NEW}"' in html, "the new address is kept, the password is not"
    assert WRONG not in html


def test_the_confirmation_page_changes_nothing_until_its_button_is_pressed(
    mail_app, app, client, smtp_server, ada
):
    ask(client, ada.headers)
    link = first_link(mail_to(smtp_server, NEW)[0], "/auth/email/confirm")
    token = parse_qs(urlsplit(link).query)["token"][0]

    shown = client.get(urlsplit(link).path + "?" + urlsplit(link).query, headers=HTML)
    shown_twice = client.get(f"/auth/email/confirm?token={token}", headers=HTML)

    assert shown.status_code == shown_twice.status_code == 200
    assert NEW in page(shown) and "Confirm the new address" in page(shown)
    assert stored(app, ada.user_id) == (OLD, False)
    done = post_form(client, "/auth/email/confirm", {"token": token}, token_page="/auth/login")
    assert done.status_code == 200
    assert "Email address changed" in page(done)
    assert stored(app, ada.user_id) == (NEW, True)
    dead = post_form(client, "/auth/email/confirm", {"token": token}, token_page="/auth/login")
    assert dead.status_code == 401
    assert "This link does not work" in page(dead)


def test_the_undo_page_changes_nothing_until_its_button_is_pressed(
    mail_app, app, client, smtp_server
):
    create_user(app, email=OLD)
    browser_login(client, OLD)
    post_email_form(client, NEW)
    undo = token_in(mail_to(smtp_server, OLD)[0], "/auth/email/undo")

    shown = client.get(f"/auth/email/undo?token={undo}", headers=HTML)
    assert shown.status_code == 200
    assert OLD in page(shown) and "sign out everywhere" in page(shown).lower()
    assert client.get("/auth/profile", headers=HTML).status_code == 200, "still signed in"

    done = post_form(client, "/auth/email/undo", {"token": undo}, token_page="/auth/profile")
    assert done.status_code == 200
    assert "Email change undone" in page(done)
    signed_out = client.get("/auth/profile", headers=HTML)
    assert signed_out.status_code == 303
    assert "/auth/login" in signed_out.headers["Location"]


@pytest.mark.parametrize("path", ["/auth/email/confirm", "/auth/email/undo"])
def test_a_dead_link_page_says_so(client, path):
    dead = client.get(f"{path}?token=unknown-token", headers=HTML)
    assert dead.status_code == 401
    assert "This link does not work" in page(dead)
    bare = client.get(path, headers=HTML)
    assert bare.status_code == 200
    assert "needs the link from the email" in page(bare)


def test_the_profile_form_shows_a_taken_or_invalid_address(mail_app, app, client, smtp_server):
    create_user(app, email=OLD)
    create_user(app, email="taken@example.com")
    browser_login(client, OLD)
    smtp_server.messages.clear()
    taken = post_email_form(client, "taken@example.com")
    assert taken.status_code == 409
    assert "Email already registered" in page(taken)
    invalid = post_email_form(client, "not-an-email")
    assert invalid.status_code == 400
    assert 'id="new_email-error"' in page(invalid)
    assert "Your email address was not changed" in page(invalid)
    assert smtp_server.messages == []


def test_the_auth_routes_answer_json_clients_too(mail_app, app, client, smtp_server, ada):
    asked = client.post(
        "/auth/email",
        json={"new_email": NEW, "current_password": PASSWORD},
        headers=ada.headers,
    )
    assert (asked.status_code, asked.json["data"]) == (202, None)
    confirm = token_in(mail_to(smtp_server, NEW)[0], "/auth/email/confirm")
    undo = token_in(mail_to(smtp_server, OLD)[0], "/auth/email/undo")
    confirmed = client.post("/auth/email/confirm", json={"token": confirm})
    assert (confirmed.status_code, confirmed.json["data"]["email"]) == (200, NEW)
    undone = client.post("/auth/email/undo", json={"token": undo})
    assert (undone.status_code, undone.json["data"]) == (200, None)
    assert stored(app, ada.user_id) == (OLD, True)


def test_no_confirmation_is_mailed_for_an_account_deleted_meanwhile(mail_app, app, smtp_server):
    user = create_user(app, email=OLD)
    with app.app_context():
        db.session.get(User, user.id).mark_deleted(by_user_id=None)
        db.session.commit()
        deliver_confirmation(user_id=user.id, new_email=NEW)
    assert smtp_server.messages == []


def change_and_confirm(client, smtp_server, headers, old_email, new_email):
    """Ask for and confirm a change; the undo token mailed to `old_email`."""
    assert ask(client, headers, new_email=new_email).status_code == 202
    confirm = token_in(mail_to(smtp_server, new_email)[-1], "/auth/email/confirm")
    assert client.post("/api/v1/auth/email/confirm", json={"token": confirm}).status_code == 200
    return token_in(mail_to(smtp_server, old_email)[-1], "/auth/email/undo")


@pytest.mark.parametrize("intruder_first", [True, False])
def test_a_later_changes_undo_link_cannot_take_the_account_from_the_owner(
    mail_app, app, client, smtp_server, ada, intruder_first
):
    owners_undo = change_and_confirm(client, smtp_server, ada.headers, OLD, NEW)
    intruders_undo = change_and_confirm(client, smtp_server, ada.headers, NEW, "third@example.com")

    def undo(token):
        return client.post("/api/v1/auth/email/undo", json={"token": token})

    if intruder_first:
        assert undo(intruders_undo).status_code == 200
        assert stored(app, ada.user_id) == (NEW, True)
    assert undo(owners_undo).status_code == 200
    assert stored(app, ada.user_id) == (OLD, True)
    assert undo(intruders_undo).status_code == 401, "an earlier undo voids the later links"
    assert stored(app, ada.user_id) == (OLD, True)
