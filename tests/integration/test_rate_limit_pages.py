"""A browser that is locked out gets its form back with how long to wait, not a bare 429 page."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, browser_login, create_user, post_form
from tests.mail_server import configured

pytestmark = pytest.mark.integration

WRONG = "not-the-Password-00"


def wait_message(response) -> str:
    return f"Too many attempts. Try again in {int(response.headers['Retry-After'])} seconds."


def test_a_locked_out_sign_in_shows_the_form_and_the_wait(app, client):
    user = create_user(app, email="locked-out@example.com")
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="2/minute"):
        for _ in range(2):
            failed = post_form(client, "/auth/login", {"email": user.email, "password": WRONG})
            assert failed.status_code == 401
        refused = post_form(client, "/auth/login", {"email": user.email, "password": PASSWORD})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert wait_message(refused) in html
    assert '<form method="post" action="/auth/login"' in html
    assert 'name="password"' in html and 'name="csrf_token"' in html
    assert 'value="locked-out@example.com"' in html, "the email is kept"
    assert PASSWORD not in html


def test_a_locked_out_password_form_shows_the_profile_and_the_wait(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    form = {"current_password": WRONG, "new_password": "another-Kettle-58-Orbit"}
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="1/minute"):
        post_form(client, "/auth/password", form, token_page="/auth/profile")
        refused = post_form(client, "/auth/password", form, token_page="/auth/profile")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert wait_message(refused) in html
    assert 'name="current_password"' in html


def test_json_clients_keep_the_envelope(app, client):
    user = create_user(app)
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="1/minute"):
        client.post("/auth/login", json={"email": user.email, "password": WRONG})
        refused = client.post("/auth/login", json={"email": user.email, "password": WRONG})
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) > 0
