"""Two-factor authentication in the browser: turn on from the profile, sign in in two steps."""

from __future__ import annotations

import re

import pyotp
import pytest

from models import utcnow
from tests.factories import HTML, PASSWORD, browser_login, create_user, csrf_token

pytestmark = pytest.mark.integration
SECRET = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')
CODES = re.compile(r"<li><code>([a-z2-7-]{19})</code></li>")


def code_at(secret: str, offset: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(utcnow()) + offset)


def post(client, path, data, page="/auth/profile", **kwargs):
    token = csrf_token(client, page)
    return client.post(path, data={**data, "csrf_token": token}, headers=HTML, **kwargs)


def turn_on(client) -> tuple[str, list[str]]:
    response = post(client, "/auth/2fa/enroll", {})
    assert response.status_code == 303
    page = client.get("/auth/2fa/setup", headers=HTML).get_data(as_text=True)
    assert "<svg" in page
    secret = SECRET.search(page).group(1)
    wrong = post(client, "/auth/2fa/confirm", {"code": "000000"})
    assert wrong.status_code == 401
    assert "wrong or was already used" in wrong.get_data(as_text=True)
    response = post(client, "/auth/2fa/confirm", {"code": code_at(secret)})
    assert response.status_code == 200
    codes = CODES.findall(response.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def test_turn_on_sign_in_with_code_and_turn_off(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    secret, codes = turn_on(client)
    profile = client.get("/auth/profile", headers=HTML).get_data(as_text=True)
    assert "10 recovery codes left" in profile
    assert "Two-factor authentication turned on" in profile and "Signed in" in profile

    fresh = app.test_client()
    response = post(
        fresh,
        "/auth/login?next=/auth/profile",
        {"email": user.email, "password": PASSWORD},
        page="/auth/login",
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/auth/login/mfa")
    # Not signed in yet.
    assert fresh.get("/auth/profile", headers=HTML).status_code == 303
    assert fresh.get("/auth/login/mfa", headers=HTML).status_code == 200
    wrong = post(fresh, "/auth/login/mfa", {"code": "000000"}, page="/auth/login/mfa")
    assert wrong.status_code == 401
    response = post(
        fresh,
        "/auth/login/mfa?next=/auth/profile",
        {"code": code_at(secret, 1)},
        page="/auth/login/mfa",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/profile"
    assert fresh.get("/auth/profile", headers=HTML).status_code == 200

    response = post(fresh, "/auth/2fa/disable", {"code": codes[0]})
    assert response.status_code == 303
    assert "Sign-in asks only for your password" in fresh.get(
        "/auth/profile", headers=HTML
    ).get_data(as_text=True)


def test_second_step_without_a_pending_sign_in(app, client):
    response = client.get("/auth/login/mfa", headers=HTML)
    assert response.status_code == 303
    response = client.post("/auth/login/mfa", json={"code": "123456"})
    assert response.status_code == 401


def test_json_browser_client_gets_the_challenge(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    secret, _ = turn_on(client)
    fresh = app.test_client()
    token = csrf_token(fresh)
    response = fresh.post(
        "/auth/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert response.json["data"]["mfa_required"] is True
    response = fresh.post("/auth/login/mfa", json={"code": code_at(secret, 1)})
    assert response.status_code == 200, response.json
    assert response.json["data"]["email"] == user.email


def test_setup_page_without_enrolment(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    page = client.get("/auth/2fa/setup", headers=HTML).get_data(as_text=True)
    assert "no enrolment waiting" in page
