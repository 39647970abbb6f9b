"""Re-checks of a signed-in user's password or second factor lock out like sign-in does: a stolen
access token or an unattended browser cannot find the password (or a code) by guessing."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, browser_login, create_user, login, post_form, signed_in_user
from tests.mail_server import configured

pytestmark = pytest.mark.integration

WRONG = "not-the-Password-00"


def change_password(client, headers, current):
    body = {"current_password": current, "new_password": "another-Kettle-58-Orbit"}
    return client.post("/api/v1/auth/password", json=body, headers=headers)


def test_wrong_current_passwords_lock_the_password_change(app, client):
    signed = signed_in_user(app, client)
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="5/minute;20/hour"):
        statuses = [change_password(client, signed.headers, WRONG).status_code for _ in range(25)]
        assert statuses == [400] * 5 + [429] * 20
        right = change_password(client, signed.headers, PASSWORD)
        assert right.status_code == 429, "the right password is refused while locked"
        assert right.json["error"]["code"] == "RATE_LIMITED"
        assert int(right.headers["Retry-After"]) > 0
        another_token = login(client, signed.email)  # signing in again does not unlock it
        assert change_password(client, another_token.headers, PASSWORD).status_code == 429


def test_changes_that_check_no_password_do_not_count(app, client):
    signed = signed_in_user(app, client)
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="2/minute"):
        for number in range(4):
            response = client.patch(
                f"/api/v1/users/{signed.user_id}",
                json={"name": f"N{number}"},
                headers=signed.headers,
            )
            assert response.status_code == 200
        assert change_password(client, signed.headers, PASSWORD).status_code == 200


def test_wrong_current_passwords_on_a_user_update_are_limited(app, client):
    signed = signed_in_user(app, client)
    body = {"password": "another-Kettle-58-Orbit", "current_password": WRONG}
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="3/minute"):
        statuses = [
            client.patch(f"/api/v1/users/{signed.user_id}", json=body, headers=signed.headers)
            for _ in range(4)
        ]
    assert [r.status_code for r in statuses] == [400, 400, 400, 429]
    assert statuses[0].json["error"]["details"]["field"] == "current_password"


def test_wrong_current_passwords_on_the_profile_page_are_limited(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    form = {"current_password": WRONG, "new_password": "another-Kettle-58-Orbit"}
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="3/minute"):
        statuses = [
            post_form(client, "/auth/password", form, token_page="/auth/profile").status_code
            for _ in range(4)
        ]
        right = post_form(
            client,
            "/auth/password",
            {**form, "current_password": PASSWORD},
            token_page="/auth/profile",
        )
    assert statuses == [400, 400, 400, 429]
    assert right.status_code == 429


def test_wrong_codes_count_per_user_whichever_token_sends_them(app, client):
    signed = signed_in_user(app, client)
    other = login(client, signed.email)
    assert client.post("/api/v1/auth/2fa/enroll", headers=signed.headers).status_code == 200
    with configured(app, RATELIMIT_MFA="2/minute"):
        statuses = [
            client.post("/api/v1/auth/2fa/confirm", json={"code": "000000"}, headers=h).status_code
            for h in (signed.headers, other.headers, signed.headers)
        ]
    assert statuses == [401, 401, 429]
