"""services/auth/registration.py: accounts, their verification, password reset and change."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from domain.passwords import PasswordPolicy
from errors import EmailTaken, InvalidToken, ValidationError, WrongCurrentPassword
from models import User, db
from services import audit_service
from services.auth import registration, signin
from services.auth.authentication import API, BROWSER, Principal
from services.session_service import IssuedTokens
from tests.factories import PASSWORD, create_user
from tests.mail_server import first_link
from tests.unit.auth_support import audit_types, in_request, session_kinds

pytestmark = pytest.mark.unit

NEW_PASSWORD = "another-Lantern-93-Quartz"


def token_in(mail, path):
    return parse_qs(urlsplit(first_link(mail, path)).query)["token"][0]


def test_register_creates_an_unverified_user_and_mails_a_verification_link(mail_app, smtp_server):
    with in_request(mail_app):
        user = registration.register(email="ada@example.com", password=PASSWORD, name="Ada")
        assert isinstance(user, User)
        assert (user.role, user.email_verified) == ("user", False)
    assert session_kinds(mail_app, user.id) == []
    (mail,) = smtp_server.messages
    assert mail.envelope_to == ["ada@example.com"]
    with in_request(mail_app):
        verified = registration.verify_email(token=token_in(mail, "/auth/verify-email"))
        assert verified.email_verified is True
        with pytest.raises(InvalidToken):
            registration.verify_email(token=token_in(mail, "/auth/verify-email"))
    assert audit_types(mail_app, user.id) == [audit_service.EMAIL_VERIFIED]


def test_register_signing_in_a_browser_answers_its_principal(mail_app, smtp_server):
    with in_request(mail_app):
        principal = registration.register(
            email="ada@example.com", password=PASSWORD, name="Ada", sign_in=BROWSER
        )
    assert isinstance(principal, Principal)
    assert session_kinds(mail_app, principal.id) == [(BROWSER, False)]
    assert len(smtp_server.messages) == 1


def test_register_signing_in_with_tokens_applies_the_policy_given(mail_app, smtp_server):
    with in_request(mail_app):
        tokens = registration.register(
            email="ada@example.com",
            password="password1",
            name="Ada",
            password_policy=PasswordPolicy.LEGACY,
            sign_in=API,
        )
    assert isinstance(tokens, IssuedTokens)
    assert session_kinds(mail_app, tokens.user.id) == [(API, False)]


def test_register_refuses_a_weak_password_under_the_current_policy(mail_app, smtp_server):
    with in_request(mail_app), pytest.raises(ValidationError):
        registration.register(email="ada@example.com", password="password1", name="Ada")
    assert smtp_server.messages == []


def test_register_with_a_taken_email_changes_nothing(mail_app, smtp_server):
    create_user(mail_app, email="ada@example.com")
    with in_request(mail_app), pytest.raises(EmailTaken):
        registration.register(
            email="ada@example.com", password=PASSWORD, name="Ada again", sign_in=BROWSER
        )
    assert smtp_server.messages == []


def test_password_reset_mails_a_link_that_sets_the_password_once(mail_app, smtp_server):
    user = create_user(mail_app)
    with in_request(mail_app):
        signin.login(email=user.email, password=PASSWORD)
        registration.request_password_reset(email=user.email)
        (mail,) = smtp_server.messages
        token = token_in(mail, "/auth/reset-password")
        registration.check_reset_link(token=token)
        registration.reset_password(token=token, password=NEW_PASSWORD)
        with pytest.raises(InvalidToken):
            registration.check_reset_link(token=token)
    assert session_kinds(mail_app, user.id) == [(API, True)]
    with in_request(mail_app):
        assert isinstance(signin.login(email=user.email, password=NEW_PASSWORD), IssuedTokens)


def test_password_reset_of_an_unknown_address_mails_nothing(mail_app, smtp_server):
    with in_request(mail_app):
        registration.request_password_reset(email="nobody@example.com")
    assert smtp_server.messages == []


def test_send_verification_does_nothing_once_verified(mail_app, smtp_server):
    user = create_user(mail_app)
    with in_request(mail_app):
        stored = db.session.get(User, user.id)
        registration.send_verification(user=stored)
        assert len(smtp_server.messages) == 1
        stored.email_verified = True
        db.session.commit()
        registration.send_verification(user=stored)
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize("rotate_session", [False, True])
def test_change_password_ends_the_other_sessions(app, rotate_session):
    user = create_user(app)
    with in_request(app):
        mine = signin.login(email=user.email, password=PASSWORD, kind=BROWSER)
        signin.login(email=user.email, password=PASSWORD)
        after = registration.change_password(
            principal=mine,
            current_password=PASSWORD,
            new_password=NEW_PASSWORD,
            rotate_session=rotate_session,
        )
    assert (after.session_id == mine.session_id) is not rotate_session
    kept = [(BROWSER, False)]
    ended = [(API, True), (BROWSER, True)] if rotate_session else [(API, True)]
    assert session_kinds(app, user.id) == sorted(kept + ended)
    assert audit_service.PASSWORD_CHANGED in audit_types(app, user.id)


def test_change_password_needs_the_current_one(app):
    user = create_user(app)
    with in_request(app):
        mine = signin.login(email=user.email, password=PASSWORD, kind=BROWSER)
        with pytest.raises(WrongCurrentPassword):
            registration.change_password(
                principal=mine, current_password="wrong-Password-00", new_password=NEW_PASSWORD
            )
    assert session_kinds(app, user.id) == [(BROWSER, False)]
