"""services/auth/authentication.py: who is calling, from a token or a browser session."""

from __future__ import annotations

import pytest

from errors import InvalidToken
from models import User, db
from services.auth import authentication, signin
from services.auth.authentication import API, BROWSER
from tests.factories import PASSWORD, create_user
from tests.unit.auth_support import in_request

pytestmark = pytest.mark.unit


def test_an_access_token_names_its_user_role_and_session(app):
    user = create_user(app, role="admin")
    with in_request(app):
        tokens = signin.login(email=user.email, password=PASSWORD, kind=API)
        principal = authentication.authenticate_access_token(tokens.access_token)
    assert (principal.id, principal.role, principal.session_id) == (
        user.id,
        "admin",
        tokens.session_id,
    )
    assert principal.is_admin
    assert principal.token_id


def test_an_access_token_of_a_logged_out_session_is_refused(app):
    user = create_user(app)
    with in_request(app):
        tokens = signin.login(email=user.email, password=PASSWORD)
        principal = authentication.authenticate_access_token(tokens.access_token)
        signin.logout(principal=principal)
        with pytest.raises(InvalidToken):
            authentication.authenticate_access_token(tokens.access_token)


def test_an_access_token_of_a_deactivated_user_is_refused(app):
    user = create_user(app)
    with in_request(app):
        tokens = signin.login(email=user.email, password=PASSWORD)
    with in_request(app):
        db.session.get(User, user.id).is_active = False
        db.session.commit()
    with in_request(app), pytest.raises(InvalidToken):
        authentication.authenticate_access_token(tokens.access_token)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c"])
def test_a_v1_caller_with_neither_kind_of_token_is_refused(app, token):
    with in_request(app), pytest.raises(InvalidToken):
        authentication.authenticate_v1_token(token)


def test_a_browser_session_names_its_user_until_it_ends(app):
    user = create_user(app)
    with in_request(app):
        signed_in = signin.login(email=user.email, password=PASSWORD, kind=BROWSER)
        found = authentication.authenticate_browser_session(signed_in.session_id)
        assert found == authentication.Principal(
            id=user.id, role="user", session_id=signed_in.session_id
        )
        signin.logout(principal=signed_in)
        assert authentication.authenticate_browser_session(signed_in.session_id) is None


def test_an_api_session_is_no_browser_session(app):
    user = create_user(app)
    with in_request(app):
        tokens = signin.login(email=user.email, password=PASSWORD)
        assert authentication.authenticate_browser_session(tokens.session_id) is None
