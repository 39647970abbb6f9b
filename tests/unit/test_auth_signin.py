"""services/auth/signin.py: password sign-in for each kind of session, refresh, logout."""

from __future__ import annotations

import bcrypt
import pytest

from errors import AccountDisabled, InvalidCredentials, InvalidToken, NotFound
from models import User, db
from services import audit_service, mfa_service
from services.auth import second_factor, signin
from services.auth.authentication import API, BROWSER, Principal
from services.auth.second_factor import MfaChallenge
from services.session_service import IssuedTokens
from tests.factories import PASSWORD, create_user
from tests.unit.auth_support import audit_types, code_at, in_request, session_kinds

pytestmark = pytest.mark.unit


def test_login_of_the_api_kind_answers_tokens_and_records_the_sign_in(app):
    user = create_user(app)
    with in_request(app):
        tokens = signin.login(email=user.email, password=PASSWORD, kind=API)
        assert isinstance(tokens, IssuedTokens)
        assert tokens.user.id == user.id
        assert tokens.user.last_login_at is not None
    assert session_kinds(app, user.id) == [(API, False)]
    assert audit_types(app, user.id) == [audit_service.LOGIN_SUCCEEDED]


def test_login_of_the_browser_kind_answers_a_principal_and_ends_the_session_it_replaces(app):
    user = create_user(app)
    with in_request(app):
        first = signin.login(email=user.email, password=PASSWORD, kind=BROWSER)
        second = signin.login(
            email=user.email, password=PASSWORD, kind=BROWSER, replaces_session_id=first.session_id
        )
    assert isinstance(second, Principal)
    assert second.id == user.id
    assert second.session_id != first.session_id
    assert session_kinds(app, user.id) == [(BROWSER, False), (BROWSER, True)]


@pytest.mark.parametrize("kind", [API, BROWSER])
def test_a_wrong_password_is_refused_and_recorded_on_its_own(app, kind):
    user = create_user(app)
    with in_request(app), pytest.raises(InvalidCredentials):
        signin.login(email=user.email, password="wrong-Password-00", kind=kind)
    assert session_kinds(app, user.id) == []
    assert audit_types(app, user.id) == [audit_service.LOGIN_FAILED]


def test_an_unknown_email_is_refused_like_a_wrong_password(app):
    with in_request(app), pytest.raises(InvalidCredentials):
        signin.login(email="nobody@example.com", password=PASSWORD)
    assert audit_types(app) == [audit_service.LOGIN_FAILED]


def test_a_disabled_account_cannot_sign_in(app):
    user = create_user(app, is_active=False)
    with in_request(app), pytest.raises(AccountDisabled):
        signin.login(email=user.email, password=PASSWORD)


@pytest.mark.parametrize("kind", [API, BROWSER])
def test_with_2fa_on_login_answers_a_challenge_that_a_code_completes(app, kind):
    user = create_user(app)
    with in_request(app):
        owner = Principal(id=user.id, role="user", session_id="setup")
        secret = second_factor.start_mfa_enrolment(principal=owner).secret
        second_factor.confirm_mfa(principal=owner, code=code_at(secret, -1))
    with in_request(app):
        challenge = signin.login(email=user.email, password=PASSWORD, kind=kind)
        assert isinstance(challenge, MfaChallenge)
        assert session_kinds(app, user.id) == []
        done = signin.complete_mfa_login(
            mfa_token=challenge.mfa_token, code=code_at(secret), kind=kind
        )
    assert isinstance(done, IssuedTokens if kind == API else Principal)
    assert session_kinds(app, user.id) == [(kind, False)]


def test_a_challenge_of_one_kind_does_not_complete_another(app):
    user = create_user(app)
    with in_request(app):
        token = mfa_service.encode_mfa_token(user.id, BROWSER)
        with pytest.raises(InvalidToken):
            signin.complete_mfa_login(mfa_token=token, code="000000", kind=API)


def test_refresh_rotates_the_pair_and_a_replayed_token_ends_the_session(app):
    user = create_user(app)
    with in_request(app):
        first = signin.login(email=user.email, password=PASSWORD)
        second = signin.refresh(refresh_token=first.refresh_token)
        assert second.session_id == first.session_id
        assert second.refresh_token != first.refresh_token
        with pytest.raises(InvalidToken):
            signin.refresh(refresh_token=first.refresh_token)
    assert session_kinds(app, user.id) == [(API, True)]
    assert audit_service.REFRESH_TOKEN_REUSED in audit_types(app, user.id)


def test_logout_ends_the_callers_session_and_the_one_its_refresh_token_names(app):
    user = create_user(app)
    with in_request(app):
        first = signin.login(email=user.email, password=PASSWORD)
        other = signin.login(email=user.email, password=PASSWORD)
        caller = Principal(id=user.id, role="user", session_id=first.session_id)
        signin.logout(principal=caller, refresh_token=other.refresh_token)
    assert session_kinds(app, user.id) == [(API, True), (API, True)]


def test_logout_by_refresh_token_needs_an_unused_token_of_a_live_session(app):
    user = create_user(app)
    with in_request(app):
        tokens = signin.login(email=user.email, password=PASSWORD)
        signin.logout_refresh_token(refresh_token=tokens.refresh_token)
        with pytest.raises(NotFound):
            signin.logout_refresh_token(refresh_token=tokens.refresh_token)
    assert session_kinds(app, user.id) == [(API, True)]


def test_a_bcrypt_hash_from_the_old_service_is_replaced_at_sign_in(app):
    user = create_user(app)
    with in_request(app):
        stored = db.session.get(User, user.id)
        stored.password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
        db.session.commit()
        signin.login(email=user.email, password=PASSWORD)
        db.session.remove()
        assert db.session.get(User, user.id).password_hash.startswith("$argon2id$")
