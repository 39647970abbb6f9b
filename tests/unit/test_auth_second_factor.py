"""services/auth/second_factor.py: enrolment, turning 2FA off, and a sign-in's second step."""

from __future__ import annotations

import pytest

from errors import AccountDisabled, Conflict, InvalidMfaCode, InvalidToken, NotFound
from models import User, db
from services import audit_service, mfa_service
from services.auth import second_factor
from services.auth.authentication import AUTH0, BROWSER, Principal
from tests.factories import create_user
from tests.unit.auth_support import audit_types, code_at, in_request

pytestmark = pytest.mark.unit


def principal_of(user):
    return Principal(id=user.id, role=user.role, session_id="test-session")


def enrolled(app, user):
    """Turn 2FA on for `user`: its secret and recovery codes."""
    with in_request(app):
        secret = second_factor.start_mfa_enrolment(principal=principal_of(user)).secret
        codes = second_factor.confirm_mfa(principal=principal_of(user), code=code_at(secret, -1))
    return secret, codes


def test_enrolment_is_confirmed_by_a_first_code_and_answers_recovery_codes(app):
    user = create_user(app)
    with in_request(app):
        enrolment = second_factor.start_mfa_enrolment(principal=principal_of(user))
        assert enrolment.otpauth_uri.startswith("otpauth://totp/")
        assert not mfa_service.is_enabled(user.id)
        with pytest.raises(InvalidMfaCode):
            second_factor.confirm_mfa(principal=principal_of(user), code="000000")
        codes = second_factor.confirm_mfa(
            principal=principal_of(user), code=code_at(enrolment.secret)
        )
        assert len(codes) == len(set(codes)) == 10
        assert mfa_service.is_enabled(user.id)
        with pytest.raises(Conflict):
            second_factor.start_mfa_enrolment(principal=principal_of(user))
    assert audit_types(app, user.id) == [audit_service.MFA_ENABLED]


def test_disable_needs_a_right_code_and_takes_a_recovery_code(app):
    user = create_user(app)
    _, codes = enrolled(app, user)
    with in_request(app):
        with pytest.raises(InvalidMfaCode):
            second_factor.disable_mfa(principal=principal_of(user), code="000000")
        assert mfa_service.is_enabled(user.id)
        second_factor.disable_mfa(principal=principal_of(user), code=codes[0])
        assert not mfa_service.is_enabled(user.id)
        with pytest.raises(NotFound):
            second_factor.disable_mfa(principal=principal_of(user), code=codes[1])


def test_a_challenge_carries_the_user_kind_and_first_factor(app):
    user = create_user(app)
    with in_request(app):
        challenge = second_factor.challenge(db.session.get(User, user.id), BROWSER, AUTH0)
        pending = mfa_service.decode_pending_sign_in(challenge.mfa_token, BROWSER)
    assert challenge.mfa_required
    assert challenge.expires_in == app.config["MFA_TOKEN_SECONDS"]
    assert (pending.user_id, pending.method) == (user.id, AUTH0)


def test_check_second_factor_answers_the_user_of_a_right_code_once(app):
    user = create_user(app)
    secret, _ = enrolled(app, user)
    with in_request(app):
        assert second_factor.check_second_factor(user.id, code_at(secret)).id == user.id
        db.session.commit()
        with pytest.raises(InvalidMfaCode):
            second_factor.check_second_factor(user.id, code_at(secret))


def test_check_second_factor_refuses_unknown_and_disabled_users(app):
    user = create_user(app, is_active=False)
    with in_request(app):
        with pytest.raises(InvalidToken):
            second_factor.check_second_factor(user.id + 1000, "000000")
        with pytest.raises(AccountDisabled):
            second_factor.check_second_factor(user.id, "000000")
