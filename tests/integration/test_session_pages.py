"""The profile page's sessions and recovery-code sections (forms with CSRF)."""

from __future__ import annotations

import re

import pytest

from models import AuthSession, db
from tests.factories import HTML, PASSWORD, browser_login, create_user, csrf_token, login
from tests.integration.test_mfa_api import code_at, enrol
from tests.integration.test_mfa_pages import CODES, turn_on

pytestmark = pytest.mark.integration

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SESSION_ITEM = re.compile(r'class="session( session-current)?" data-session-id="([0-9a-f]{32})"')


def listed(html):
    """(current, other ids) of the sessions the profile lists."""
    items = SESSION_ITEM.findall(html)
    (current,) = [session_id for mark, session_id in items if mark]
    return current, [session_id for mark, session_id in items if not mark]


def post(client, path, data=None, **kwargs):
    token = csrf_token(client, "/auth/profile")
    return client.post(path, data={**(data or {}), "csrf_token": token}, headers=HTML, **kwargs)


def profile(client, **headers):
    response = client.get("/auth/profile", headers={**HTML, **headers})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def live_ids(app, user_id):
    with app.app_context():
        return {
            row.id
            for row in db.session.query(AuthSession).filter_by(user_id=user_id, revoked_at=None)
        }


@pytest.fixture
def two_browsers(app):
    user = create_user(app)
    mine, other = app.test_client(), app.test_client()
    other.environ_base["HTTP_USER_AGENT"] = FIREFOX
    other.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    browser_login(other, user.email)
    browser_login(mine, user.email)
    return user, mine, other


def test_the_profile_lists_sessions_with_device_address_and_this_one_marked(app, two_browsers):
    _, mine, _ = two_browsers
    html = profile(mine)
    assert "Where you are signed in" in html
    assert "Firefox on Linux" in html and "from 203.0.113.5" in html
    assert html.count("this device") == 1
    assert html.count('aria-label="Sign out this session"') == 1, "none for this device"
    assert "Sign out everywhere else" in html


def test_the_device_and_dates_are_translated(app, two_browsers):
    _, mine, _ = two_browsers
    html = profile(mine, **{"Accept-Language": "de"})
    assert "Firefox unter Linux" in html
    assert "Wo Sie angemeldet sind" in html
    assert "Überall sonst abmelden" in html
    assert re.search(r"angemeldet am \d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}:\d{2}", html)
    english = profile(mine, **{"Accept-Language": "en"})
    assert re.search(r"signed in [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2}", english)


def test_signing_out_another_session_ends_its_cookie(app, two_browsers):
    user, mine, other = two_browsers
    current, (other_id,) = listed(profile(mine))
    assert {current, other_id} == live_ids(app, user.id)
    response = post(mine, f"/auth/sessions/{other_id}/revoke")
    assert response.status_code == 303 and response.location.endswith("/auth/profile")
    assert "That session has been signed out." in profile(mine)
    assert other.get("/auth/profile", headers=HTML).status_code == 303, "sent to sign in"
    assert "Sign out everywhere else" not in profile(mine)


def test_signing_out_everywhere_else(app, two_browsers):
    user, mine, other = two_browsers
    api = login(app.test_client(), user.email)
    response = post(mine, "/auth/sessions/revoke-others")
    assert response.status_code == 303
    assert "2 other sessions have been signed out." in profile(mine)
    assert other.get("/auth/profile", headers=HTML).status_code == 303
    assert app.test_client().get("/api/v1/users/me", headers=api.headers).status_code == 401
    assert len(live_ids(app, user.id)) == 1


def test_signing_out_this_session_from_its_form_signs_out(app, two_browsers):
    user, mine, other = two_browsers
    current, (other_id,) = listed(profile(mine))
    response = post(mine, f"/auth/sessions/{current}/revoke")
    assert response.status_code == 303 and response.location.endswith("/auth/login")
    assert mine.get("/auth/profile", headers=HTML).status_code == 303
    assert live_ids(app, user.id) == {other_id}
    assert other.get("/auth/profile", headers=HTML).status_code == 200


def test_forms_without_csrf_are_refused(app, two_browsers):
    user, mine, _ = two_browsers
    before = live_ids(app, user.id)
    for path in ("/auth/sessions/revoke-others", f"/auth/sessions/{min(before)}/revoke"):
        assert mine.post(path, data={}, headers=HTML).status_code == 403
    assert live_ids(app, user.id) == before


def test_an_unknown_session_shows_the_profile_with_the_error(app, two_browsers):
    _, mine, _ = two_browsers
    response = post(mine, f"/auth/sessions/{'0' * 32}/revoke")
    assert response.status_code == 404
    assert "Session not found" in response.get_data(as_text=True)


def test_json_clients_of_the_session_forms_get_envelopes(app, two_browsers):
    user, mine, _ = two_browsers
    token = csrf_token(mine, "/auth/profile")
    headers = {"X-CSRFToken": token}
    response = mine.post("/auth/sessions/revoke-others", json={}, headers=headers)
    assert response.status_code == 200 and response.json["data"] == {"revoked": 1}
    (current,) = live_ids(app, user.id)
    response = mine.post(f"/auth/sessions/{current}/revoke", json={}, headers=headers)
    assert response.status_code == 200 and response.json["data"] is None
    assert mine.get("/auth/profile").status_code == 401


def test_recovery_codes_are_made_again_from_the_profile(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    assert "Make new recovery codes" not in profile(client), "only with two-factor on"
    _, old_codes = turn_on(client)
    assert "Make new recovery codes" in profile(client)
    wrong = post(client, "/auth/2fa/recovery-codes", {"password": "not-the-Password-00"})
    assert wrong.status_code == 400
    assert "Current password is incorrect" in wrong.get_data(as_text=True)
    response = post(client, "/auth/2fa/recovery-codes", {"password": PASSWORD})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Your new recovery codes" in html
    new_codes = CODES.findall(html)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert "Make new recovery codes" in profile(client)
    assert "10 recovery codes left" in profile(client)


def test_json_clients_of_the_recovery_codes_form_get_the_codes(app, client):
    signed = login(client, create_user(app).email)
    secret, _ = enrol(client, signed)
    response = client.post(
        "/auth/2fa/recovery-codes", json={"code": code_at(secret, 1)}, headers=signed.headers
    )
    assert response.status_code == 200, response.json
    assert len(response.json["data"]["recovery_codes"]) == 10
