"""Security notices by mail, read from a real SMTP server: which events send one, what it says,
and what it never says."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp
import pytest

from models import AuthSession, User, UserMfa, db
from services.base_service import unit_of_work
from services.security_notices import NOTICES, Notice, deliver_notice, notify
from tests.factories import PASSWORD, browser_login, create_user, post_form, signed_in_user
from tests.mail_server import configured, first_link, wait_for_messages

pytestmark = pytest.mark.integration

NEW_PASSWORD = "another-Lantern-93-Quartz"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
FIREFOX_LINUX_NEWER = "Mozilla/5.0 (X11; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
NEW_DEVICE = str(NOTICES[Notice.NEW_DEVICE_SIGN_IN].subject)
TOKEN_PATTERN = re.compile(r"token=", re.IGNORECASE)


def subjects(server):
    return [mail.message["Subject"] for mail in server.messages]


def sign_in(client, email, user_agent, password=PASSWORD):
    response = client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 200
    return response.json["data"]


def assert_no_token(mail):
    for part in (mail.text, mail.html):
        assert not TOKEN_PATTERN.search(part), "a notice carries no token but the undo link"
        assert PASSWORD not in part and NEW_PASSWORD not in part


# --- sign-in from a new device ------------------------------------------------------------------


def test_first_sign_in_sends_nothing_and_a_new_device_sends_a_notice(
    mail_app, app, client, smtp_server
):
    user = create_user(app, name="Ada")
    sign_in(client, user.email, FIREFOX_LINUX)
    assert smtp_server.messages == [], "the first sign-in has nothing to compare with"
    sign_in(client, user.email, FIREFOX_LINUX_NEWER)
    assert smtp_server.messages == [], "another version of the same browser on the same system"

    sign_in(client, user.email, CHROME_WINDOWS)

    (mail,) = smtp_server.messages
    assert mail.envelope_to == [user.email]
    assert mail.message["Subject"] == NEW_DEVICE
    text = mail.text
    assert "Hello Ada," in text
    assert "Chrome on Windows" in text and "Chrome on Windows" in mail.html
    assert "127.0.0.1" in text
    assert f"{datetime.now(UTC).year}" in text and "UTC" in text
    assert first_link(mail, "/auth/forgot-password").startswith("http")
    assert first_link(mail, "/auth/profile").startswith("http")
    assert_no_token(mail)

    sign_in(client, user.email, CHROME_WINDOWS)
    assert len(smtp_server.messages) == 1, "the device is known now"


@pytest.mark.parametrize("path", ["/auth/login", "/v1/auth/login"])
def test_browser_and_v1_sign_ins_from_a_new_device_send_a_notice(
    mail_app, app, client, smtp_server, path
):
    user = create_user(app)
    sign_in(client, user.email, FIREFOX_LINUX)
    response = client.post(
        path,
        json={"email": user.email, "password": PASSWORD},
        headers={"User-Agent": CHROME_WINDOWS},
    )
    assert response.status_code == 200
    assert subjects(smtp_server) == [NEW_DEVICE]


def test_a_failed_sign_in_from_a_new_device_sends_nothing(mail_app, app, client, smtp_server):
    user = create_user(app)
    sign_in(client, user.email, FIREFOX_LINUX)
    response = client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": "not-the-Password-00"},
        headers={"User-Agent": CHROME_WINDOWS},
    )
    assert response.status_code == 401
    assert smtp_server.messages == []


def test_sessions_imported_from_the_old_service_are_no_device_history(
    mail_app, app, client, smtp_server
):
    user = create_user(app)
    with app.app_context():
        db.session.add(AuthSession(id="legacy0000000000", user_id=user.id, kind="legacy"))
        db.session.commit()
    sign_in(client, user.email, CHROME_WINDOWS)
    assert smtp_server.messages == []


# --- passwords ----------------------------------------------------------------------------------


def test_password_change_through_the_api_sends_a_notice(mail_app, app, client, smtp_server):
    signed = signed_in_user(app, client)
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={**signed.headers, "User-Agent": FIREFOX_LINUX},
    )
    assert response.status_code == 200
    (mail,) = smtp_server.messages
    assert mail.message["Subject"] == str(NOTICES[Notice.PASSWORD_CHANGED].subject)
    assert "Firefox on Linux" in mail.text
    assert_no_token(mail)


def test_a_refused_password_change_sends_nothing(mail_app, app, client, smtp_server):
    signed = signed_in_user(app, client)
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": "not-the-Password-00", "new_password": NEW_PASSWORD},
        headers=signed.headers,
    )
    assert response.status_code == 400
    assert smtp_server.messages == []


@pytest.mark.parametrize("path", ["/api/v1/users/{id}", "/v1/users/{id}"])
def test_password_change_through_a_user_update_sends_a_notice(
    mail_app, app, client, smtp_server, path
):
    signed = signed_in_user(app, client)
    url = path.format(id=signed.user_id)
    body = {"password": NEW_PASSWORD, "current_password": PASSWORD}
    if url.startswith("/v1"):  # the old contract: the user's ObjectId, no current password
        with app.app_context():
            url = f"/v1/users/{db.session.get(User, signed.user_id).legacy_id}"
        del body["current_password"]
    response = client.patch(url, json=body, headers=signed.headers)
    assert response.status_code == 200, response.json
    assert subjects(smtp_server) == [str(NOTICES[Notice.PASSWORD_CHANGED].subject)]


def test_password_reset_sends_a_notice(mail_app, app, client, smtp_server):
    user = create_user(app)
    client.post("/api/v1/auth/forgot-password", json={"email": user.email})
    link = first_link(smtp_server.messages[0], "/auth/reset-password")
    token = link.partition("token=")[2]
    response = client.post(
        "/api/v1/auth/reset-password", json={"token": token, "password": NEW_PASSWORD}
    )
    assert response.status_code == 200
    notice = smtp_server.messages[1]
    assert notice.message["Subject"] == str(NOTICES[Notice.PASSWORD_RESET].subject)
    assert_no_token(notice)


def test_password_change_on_the_profile_page_sends_a_notice(mail_app, app, client, smtp_server):

    user = create_user(app)
    browser_login(client, user.email)
    smtp_server.messages.clear()
    response = post_form(
        client,
        "/auth/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert subjects(smtp_server) == [str(NOTICES[Notice.PASSWORD_CHANGED].subject)]


# --- two-factor authentication ------------------------------------------------------------------


def turn_on_mfa(client, headers):
    secret = client.post("/api/v1/auth/2fa/enroll", headers=headers).json["data"]["secret"]
    response = client.post(
        "/api/v1/auth/2fa/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=headers
    )
    assert response.status_code == 200
    return response.json["data"]["recovery_codes"]


def test_two_factor_on_recovery_code_used_and_off_each_send_a_notice(
    mail_app, app, client, smtp_server
):
    signed = signed_in_user(app, client)
    codes = turn_on_mfa(client, signed.headers)
    assert subjects(smtp_server) == [str(NOTICES[Notice.MFA_ENABLED].subject)]

    pending = client.post(
        "/api/v1/auth/login", json={"email": signed.email, "password": PASSWORD}
    ).json["data"]
    done = client.post(
        "/api/v1/auth/mfa", json={"mfa_token": pending["mfa_token"], "code": codes[0]}
    )
    assert done.status_code == 200
    used = smtp_server.messages[1]
    assert used.message["Subject"] == str(NOTICES[Notice.RECOVERY_CODE_USED].subject)
    assert "9 recovery code(s) are left" in used.text
    assert codes[0] not in used.text and codes[1] not in used.html

    with app.app_context():
        secret = db.session.get(UserMfa, signed.user_id).secret
    smtp_server.messages.clear()
    # A TOTP code of the step just used is refused: use a recovery code to turn it off.
    off = client.post("/api/v1/auth/2fa/disable", json={"code": codes[1]}, headers=signed.headers)
    assert off.status_code == 200
    assert subjects(smtp_server) == [
        str(NOTICES[Notice.RECOVERY_CODE_USED].subject),
        str(NOTICES[Notice.MFA_DISABLED].subject),
    ]
    assert secret not in smtp_server.messages[1].text


def test_a_wrong_two_factor_code_sends_nothing(mail_app, app, client, smtp_server):
    signed = signed_in_user(app, client)
    turn_on_mfa(client, signed.headers)
    smtp_server.messages.clear()
    response = client.post(
        "/api/v1/auth/2fa/disable", json={"code": "0000-0000-0000-0000"}, headers=signed.headers
    )
    assert response.status_code == 401
    assert smtp_server.messages == []


# --- every kind, and how it is sent -------------------------------------------------------------


@pytest.mark.parametrize("notice", list(Notice))
def test_every_notice_renders_in_text_and_html(mail_app, app, smtp_server, notice):
    user = create_user(app, name="Grace")
    with app.app_context():
        deliver_notice(
            user_id=user.id,
            notice=notice.value,
            occurred_at="2026-12-06T19:20:00+00:00",
            ip="203.0.113.9",
            user_agent=FIREFOX_LINUX,
            new_email="next@example.com",
            detail="Laptop key",
        )
    (mail,) = smtp_server.messages
    text = NOTICES[notice]
    assert mail.envelope_to == [user.email]
    assert mail.message["Subject"] == str(text.subject)
    for part in (mail.text, mail.html):
        assert "Grace" in part
        assert "December 6, 2026" in part and "7:20:00" in part and "UTC" in part
        if text.by_admin:
            assert "203.0.113.9" not in part, "an administrator's address is not shown"
            assert "an administrator" in part
        else:
            assert "203.0.113.9" in part and "Firefox on Linux" in part
    if notice is Notice.EMAIL_CHANGE_REQUESTED:
        assert first_link(mail, "/auth/email/undo")
    else:
        assert_no_token(mail)


def test_a_deleted_account_hears_nothing(mail_app, app, smtp_server):
    user = create_user(app)
    with app.app_context():
        db.session.get(User, user.id).mark_deleted(by_user_id=None)
        db.session.commit()
        deliver_notice(
            user_id=user.id, notice="password_changed", occurred_at="2026-12-06T00:00:00"
        )
    assert smtp_server.messages == []


def test_a_notice_from_the_command_line_names_no_address(mail_app, app, smtp_server):
    user = create_user(app)
    with app.app_context():
        deliver_notice(user_id=user.id, notice="mfa_disabled", occurred_at="2026-12-06T00:00:00")
    (mail,) = smtp_server.messages
    assert "From address: unknown" in mail.text
    assert "Device: unknown" in mail.text


def test_notices_sent_after_the_response_are_rendered_outside_the_request(
    mail_app, app, client, smtp_server
):
    user = create_user(app)
    sign_in(client, user.email, FIREFOX_LINUX)
    with configured(app, MAIL_QUEUE="thread", MAIL_QUEUE_RETRIES=0):
        response = client.post(
            "/api/v1/auth/login",
            json={"email": user.email, "password": PASSWORD},
            headers={"User-Agent": CHROME_WINDOWS},
        )
        assert response.status_code == 200
        assert smtp_server.messages == [], "nothing is sent before the response is closed"
        response.close()  # what the WSGI server does once the answer is out
        (mail,) = wait_for_messages(smtp_server, 1)
    assert mail.message["Subject"] == NEW_DEVICE
    assert "Chrome on Windows" in mail.text


def test_an_unknown_device_is_named_so(mail_app, app, client, smtp_server):
    user = create_user(app)
    sign_in(client, user.email, FIREFOX_LINUX)
    sign_in(client, user.email, "")
    (mail,) = smtp_server.messages
    assert "Device: unknown" in mail.text


def test_a_notice_speaks_the_language_it_is_rendered_in(mail_app, app, smtp_server):
    user = create_user(app, name="Lise")
    with app.test_request_context(headers={"Accept-Language": "de"}):
        deliver_notice(
            user_id=user.id,
            notice="mfa_enabled",
            occurred_at="2026-12-06T19:20:00+00:00",
            user_agent=FIREFOX_LINUX,
        )
    (mail,) = smtp_server.messages
    assert mail.message["Subject"] == "Die Zwei-Faktor-Authentifizierung wurde eingeschaltet"
    assert "Hallo Lise," in mail.text
    assert "Firefox unter Linux" in mail.text
    assert "6. Dezember 2026" in mail.text


def test_a_change_made_outside_a_request_is_told_at_once(mail_app, app, smtp_server):
    user = create_user(app)
    with app.app_context():
        notify(user.id, Notice.MFA_RESET_BY_ADMIN)  # no unit of work open: sent now
    (mail,) = smtp_server.messages
    assert mail.message["Subject"] == str(NOTICES[Notice.MFA_RESET_BY_ADMIN].subject)
    assert "an administrator" in mail.text


def test_a_notice_queued_in_a_unit_of_work_that_rolls_back_is_never_sent(
    mail_app, app, smtp_server
):
    user = create_user(app)
    with app.app_context(), pytest.raises(RuntimeError), unit_of_work():
        notify(user.id, Notice.PASSWORD_CHANGED)
        raise RuntimeError
    assert smtp_server.messages == []


def test_a_notice_is_in_its_recipients_saved_language_whatever_the_request(
    mail_app, app, smtp_server
):
    user = create_user(app, name="Lise")
    with app.app_context(), unit_of_work():
        db.session.get(User, user.id).locale = "de"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        deliver_notice(
            user_id=user.id,
            notice="mfa_enabled",
            occurred_at="2026-12-06T19:20:00+00:00",
            user_agent=FIREFOX_LINUX,
        )
    (mail,) = smtp_server.messages
    assert mail.message["Subject"] == "Die Zwei-Faktor-Authentifizierung wurde eingeschaltet"
    assert "Firefox unter Linux" in mail.text and "6. Dezember 2026" in mail.text


def test_new_recovery_codes_send_a_notice(mail_app, app, client, smtp_server):
    signed = signed_in_user(app, client)
    turn_on_mfa(client, signed.headers)
    smtp_server.messages.clear()
    response = client.post(
        "/api/v1/auth/2fa/recovery-codes", json={"password": PASSWORD}, headers=signed.headers
    )
    assert response.status_code == 200
    (mail,) = smtp_server.messages
    assert mail.message["Subject"] == str(NOTICES[Notice.RECOVERY_CODES_REGENERATED].subject)
    for code in response.json["data"]["recovery_codes"]:
        assert code not in mail.text and code not in mail.html


def test_an_administrators_two_factor_reset_tells_the_user(mail_app, app, client, smtp_server):
    member = signed_in_user(app, client, email="member@example.com")
    turn_on_mfa(client, member.headers)
    admin = signed_in_user(app, client, email="boss@example.com", role="admin")
    smtp_server.messages.clear()
    response = client.post(f"/api/v1/users/{member.user_id}/2fa/reset", headers=admin.headers)
    assert response.status_code == 200
    (mail,) = smtp_server.messages
    assert mail.envelope_to == ["member@example.com"]
    assert mail.message["Subject"] == str(NOTICES[Notice.MFA_RESET_BY_ADMIN].subject)
    assert "an administrator" in mail.text

    smtp_server.messages.clear()
    again = client.post(f"/api/v1/users/{member.user_id}/2fa/reset", headers=admin.headers)
    assert again.status_code == 200
    assert smtp_server.messages == [], "nothing was on to reset: nothing to tell"
