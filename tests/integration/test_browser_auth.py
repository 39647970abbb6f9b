"""The /auth routes for browsers (pages, forms, cookie sessions) and JSON clients (contract §5)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import ActionToken, AuthSession, User, db, utcnow
from tests.factories import (
    HTML,
    PASSWORD,
    browser_login,
    create_user,
    csrf_token,
    login,
    post_form,
)
from tests.mail_server import first_link

pytestmark = pytest.mark.integration

JSON = {"Accept": "application/json"}
NEW_PASSWORD = "another-Lantern-93-Quartz"
FORM_PAGES = {
    "/auth/login": ["email", "password"],
    "/auth/register": ["email", "password", "name"],
    "/auth/forgot-password": ["email"],
    "/auth/reset-password": ["token", "password"],
}


def text(response) -> str:
    return response.get_data(as_text=True)


def session_rows(app, user_id):
    with app.app_context():
        return db.session.query(AuthSession).filter_by(user_id=user_id).all()


def json_login(client, email, password=PASSWORD):
    response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.json
    return response


@pytest.mark.parametrize("path", [*FORM_PAGES, "/", "/auth/logout"])
def test_pages_render_in_the_layout_for_browsers(client, path):
    response = client.get(path, headers=HTML)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert 'class="site-header"' in text(response)
    assert 'class="site-footer"' in text(response)


@pytest.mark.parametrize("path", ["/auth/login", "/auth/register", "/auth/forgot-password"])
def test_form_fields_have_labels_and_a_csrf_token(client, path):
    page = text(client.get(path, headers=HTML))
    assert 'name="csrf_token"' in page
    for field in FORM_PAGES[path]:
        assert f'<label for="{field}">' in page
        assert f'id="{field}" name="{field}"' in page


@pytest.mark.parametrize(("path", "fields"), FORM_PAGES.items())
def test_form_pages_describe_themselves_to_json_clients(client, path, fields):
    response = client.get(path, headers=JSON)
    assert response.status_code == 200
    data = response.json["data"]
    assert data["action"] == path
    assert data["method"] == "POST"
    assert data["fields"] == fields
    assert data["csrf_token"]


def mailed_reset_token(client, smtp_server, email):
    client.post("/auth/forgot-password", json={"email": email})
    return first_link(smtp_server.messages[-1], "/auth/reset-password").split("token=", 1)[1]


def test_reset_page_carries_the_token_of_the_link(mail_app, client, smtp_server):
    token = mailed_reset_token(client, smtp_server, create_user(mail_app).email)
    response = client.get(f"/auth/reset-password?token={token}", headers=HTML)
    assert response.status_code == 200
    assert f'name="token" value="{token}"' in text(response)
    assert 'name="password"' in text(response)


def assert_dead_reset_link(response):
    assert response.status_code == 401
    page = text(response)
    assert "This link does not work" in page
    assert "expired, has already been used, or is not a valid" in page
    assert 'name="password"' not in page  # nothing to type before learning the link is dead
    assert 'href="/auth/forgot-password"' in page


def test_a_garbage_reset_link_says_it_is_dead_before_the_form(client):
    assert_dead_reset_link(client.get("/auth/reset-password?token=abc123", headers=HTML))


def test_a_used_reset_link_says_it_is_dead_before_the_form(mail_app, client, smtp_server):
    token = mailed_reset_token(client, smtp_server, create_user(mail_app).email)
    used = client.post("/auth/reset-password", json={"token": token, "password": NEW_PASSWORD})
    assert used.status_code == 200
    assert_dead_reset_link(client.get(f"/auth/reset-password?token={token}", headers=HTML))


def test_an_expired_reset_link_says_it_is_dead(mail_app, client, smtp_server):
    token = mailed_reset_token(client, smtp_server, create_user(mail_app).email)
    with mail_app.app_context():
        for row in db.session.query(ActionToken):
            row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert_dead_reset_link(client.get(f"/auth/reset-password?token={token}", headers=HTML))


def test_opening_a_reset_link_does_not_use_it(mail_app, client, smtp_server):
    token = mailed_reset_token(client, smtp_server, create_user(mail_app).email)
    for _ in range(2):
        assert client.get(f"/auth/reset-password?token={token}", headers=HTML).status_code == 200
    used = client.post("/auth/reset-password", json={"token": token, "password": NEW_PASSWORD})
    assert used.status_code == 200


def test_a_garbage_verification_link_says_it_is_dead(client):
    response = client.get("/auth/verify-email?token=abc123", headers=HTML)
    assert response.status_code == 401
    assert "This link does not work" in text(response)
    assert "expired, has already been used, or is not a valid" in text(response)


def test_reset_page_without_a_token_says_the_link_is_needed(client):
    page = text(client.get("/auth/reset-password", headers=HTML))
    assert "needs the link from the email" in page
    assert 'name="password"' not in page


# --- Signing in and out ---------------------------------------------------------------------


def test_form_login_starts_a_session_and_redirects_to_the_profile(app, client):
    user = create_user(app, name="Ada Lovelace")
    response = post_form(client, "/auth/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/profile"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Expires=" in cookie
    assert "Secure" not in cookie  # testing runs on plain HTTP; Secure is the default elsewhere
    profile = client.get("/auth/profile", headers=HTML)
    assert profile.status_code == 200
    assert "Ada Lovelace" in text(profile)
    assert "Welcome back, Ada Lovelace." in text(profile)
    [row] = session_rows(app, user.id)
    assert row.kind == "browser"


def test_session_cookie_is_secure_when_configured(app, client):
    user = create_user(app)
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        response = post_form(client, "/auth/login", {"email": user.email, "password": PASSWORD})
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
    assert "Secure" in response.headers["Set-Cookie"]


def test_failed_form_login_shows_the_error_and_keeps_the_email(app, client):
    user = create_user(app)
    response = post_form(client, "/auth/login", {"email": user.email, "password": "wrong-one-123"})
    assert response.status_code == 401
    page = text(response)
    assert "Invalid email or password" in page
    assert f'value="{user.email}"' in page
    assert "wrong-one-123" not in page


def test_form_validation_errors_sit_next_to_their_fields(client):
    response = post_form(
        client, "/auth/register", {"email": "nope", "password": "pw", "name": "  "}
    )
    assert response.status_code == 400
    page = text(response)
    assert 'id="email-error">Invalid email format' in page
    assert 'aria-describedby="email-hint email-error"' in page
    assert 'id="name-error">Name must be 1 to 100 characters' in page
    assert 'href="#email"' in page  # the summary links to the field
    assert 'value="nope"' in page


def test_a_weak_password_shows_every_problem_next_to_the_field(client):
    response = post_form(
        client,
        "/auth/register",
        {"email": "weak@example.com", "password": "password", "name": "Weak"},
    )
    assert response.status_code == 400
    page = text(response)
    field_errors = page[page.index('id="password-error"') :]
    field_errors = field_errors[: field_errors.index("</ul>")]
    assert "Password must be at least 12 characters" in field_errors
    assert "Password is too common" in field_errors


def test_unknown_and_repeated_form_fields_are_refused(client):
    token = csrf_token(client, "/auth/login")
    response = client.post(
        "/auth/login",
        data={"email": ["a@example.com", "b@example.com"], "password": "x", "csrf_token": token},
        headers=HTML,
    )
    assert response.status_code == 400
    assert "Give this field once" in text(response)
    response = post_form(
        client, "/auth/login", {"email": "a@example.com", "password": "x", "x": "1"}
    )
    assert "x: Unknown field" in text(response)


def test_login_rotates_the_session_and_ends_the_one_it_replaces(app, client):
    user = create_user(app)
    csrf_token(client)  # an anonymous session exists before sign-in
    before = client.get_cookie("session").value
    browser_login(client, user.email)
    first = client.get_cookie("session").value
    browser_login(client, user.email)
    assert len({before, first, client.get_cookie("session").value}) == 3
    rows = sorted(session_rows(app, user.id), key=lambda row: row.created_at)
    assert [row.revoked_reason for row in rows] == ["replaced", None]
    client.set_cookie("session", first)
    assert client.get("/auth/profile", headers=JSON).status_code == 401


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("https://elsewhere/", "/auth/profile"),
        ("//elsewhere/", "/auth/profile"),
        ("/\\elsewhere", "/auth/profile"),
        ("javascript:alert(1)", "/auth/profile"),
        ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),
        ("/auth/profile?tab=password", "/auth/profile?tab=password"),
        ("/", "/"),
    ],
)
def test_next_redirects_only_to_paths_of_this_site(app, client, next_url, location):
    user = create_user(app)
    token = csrf_token(client)
    response = client.post(
        "/auth/login",
        query_string={"next": next_url},
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
        headers=HTML,
    )
    assert response.status_code == 303
    assert response.headers["Location"] == location


def test_next_with_control_characters_is_ignored():
    from blueprints.pages import same_site_path

    assert same_site_path("/ok\nLocation: https://evil") is None
    assert same_site_path("/ok") == "/ok"
    assert same_site_path(None) is None


def test_protected_page_redirects_browsers_to_sign_in_and_back(client):
    response = client.get("/auth/profile?tab=1", headers=HTML)
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/login?next=/auth/profile?tab%3D1"


def test_protected_route_answers_401_to_json_clients(client):
    response = client.get("/auth/profile", headers=JSON)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "AUTHENTICATION_REQUIRED"


def test_json_login_answers_the_user_and_a_csrf_token(app, client):
    user = create_user(app, email="ada@example.com")
    response = json_login(client, user.email)
    assert response.json["data"]["email"] == "ada@example.com"
    assert response.json["message"] == "Signed in"
    assert response.headers["X-CSRFToken"]
    profile = client.get("/auth/profile", headers=JSON)
    assert profile.json["data"]["id"] == user.id


def test_disabled_account_cannot_sign_in_by_form(app, client):
    user = create_user(app, is_active=False)
    response = post_form(client, "/auth/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "This account is disabled" in text(response)


def test_session_of_a_deactivated_user_is_refused(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    with app.app_context():
        db.session.get(User, user.id).is_active = False
        db.session.commit()
    response = client.get("/auth/profile", headers=HTML)
    assert response.status_code == 303
    assert "Sign in" in text(client.get("/", headers=HTML))


def test_form_logout_ends_the_session_and_a_replayed_cookie_is_refused(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    old_cookie = client.get_cookie("session").value
    response = post_form(client, "/auth/logout", {}, token_page="/auth/profile")
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/login"
    assert "You have been signed out." in text(client.get("/auth/login", headers=HTML))
    [row] = session_rows(app, user.id)
    assert row.revoked_reason == "logout"
    client.set_cookie("session", old_cookie)
    assert client.get("/auth/profile", headers=HTML).status_code == 303
    assert client.get("/auth/profile", headers=JSON).status_code == 401


def test_logout_page_offers_the_button_when_signed_in(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    page = text(client.get("/auth/logout", headers=HTML))
    assert f"You are signed in as <strong>{user.email}</strong>" in page
    home = text(client.get("/", headers=HTML))
    assert user.name in home


def test_logout_without_a_session_sends_browsers_to_sign_in(client):
    response = post_form(client, "/auth/logout", {})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/auth/login")


# --- CSRF -----------------------------------------------------------------------------------


def test_form_without_csrf_token_is_refused_with_the_403_page(app, client):
    user = create_user(app)
    response = client.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD}, headers=HTML
    )
    assert response.status_code == 403
    assert '<p class="error-status">403</p>' in text(response)
    assert session_rows(app, user.id) == []


def test_form_without_csrf_token_answers_forbidden_to_json_clients(client):
    response = client.post("/auth/login", data={"email": "a@example.com", "password": "x"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "FORBIDDEN"


def test_cookie_json_request_needs_the_csrf_header(app, client):
    user = create_user(app)
    token = json_login(client, user.email).headers["X-CSRFToken"]
    refused = client.post("/auth/logout", json={})
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "FORBIDDEN"
    wrong = client.post("/auth/logout", json={}, headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 403
    accepted = client.post("/auth/logout", json={}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200
    assert accepted.json["message"] == "Logged out"
    assert client.get("/auth/profile", headers=JSON).status_code == 401


def test_json_without_a_session_cookie_needs_no_csrf_token(mail_app, client):
    response = client.post(
        "/auth/register",
        json={"email": "new@example.com", "password": NEW_PASSWORD, "name": "New"},
    )
    assert response.status_code == 201
    assert client.get_cookie("session") is None  # JSON registration does not sign in


def test_bearer_requests_need_no_csrf_token_even_with_a_cookie(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    tokens = login(client, user.email)
    response = client.post("/auth/logout", json={}, headers=tokens.headers)
    assert response.status_code == 200
    # The Bearer session ended; the browser session is untouched.
    assert client.get("/auth/profile", headers=JSON).status_code == 200
    assert client.get("/auth/profile", headers=tokens.headers).status_code == 401


def test_bad_bearer_token_does_not_fall_back_to_the_cookie(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    response = client.get("/auth/profile", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "INVALID_TOKEN"


def test_api_routes_are_exempt_from_csrf(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200


def test_cross_site_api_patch_with_only_the_cookie_is_refused(app, client):
    user = create_user(app, name="Ada")
    browser_login(client, user.email)
    response = client.patch(
        f"/api/v1/users/{user.id}",
        json={"name": "Renamed by evil.example"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "AUTHENTICATION_REQUIRED"
    with app.app_context():
        assert db.session.get(User, user.id).name == "Ada"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/auth/2fa"),
        ("POST", "/api/v1/auth/send-verification-email"),
        ("GET", "/api/v1/audit-events"),
        ("GET", "/v1/users"),
    ],
)
def test_token_apis_never_read_the_session_cookie(app, client, method, path):
    user = create_user(app)
    browser_login(client, user.email)
    response = client.open(path, method=method)
    assert response.status_code == 401


def test_text_plain_api_logout_with_only_the_cookie_keeps_the_session(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    response = client.post(
        "/api/v1/auth/logout",
        headers={"Content-Type": "text/plain", "Origin": "https://evil.example"},
    )
    assert response.status_code == 401
    assert client.get("/auth/profile", headers=JSON).status_code == 200


def test_csrf_token_survives_a_password_change_but_not_a_sign_in(app, client):
    user = create_user(app)
    token = json_login(client, user.email).headers["X-CSRFToken"]
    changed = client.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={"X-CSRFToken": token},
    )
    assert changed.status_code == 200
    ok = client.post("/auth/profile", json={"name": "Still"}, headers={"X-CSRFToken": token})
    assert ok.status_code == 200
    again = client.post(
        "/auth/login",
        json={"email": user.email, "password": NEW_PASSWORD},
        headers={"X-CSRFToken": token},
    )
    assert again.status_code == 200
    stale = client.post("/auth/profile", json={"name": "Stale"}, headers={"X-CSRFToken": token})
    assert stale.status_code == 403


def test_other_content_types_are_refused_once_csrf_passes(app, client):
    user = create_user(app)
    token = json_login(client, user.email).headers["X-CSRFToken"]
    response = client.post(
        "/auth/profile",
        data="name=x",
        content_type="text/plain",
        headers={"X-CSRFToken": token, **JSON},
    )
    assert response.status_code == 415


# --- Profile ----------------------------------------------------------------------------------


def test_profile_json_with_the_cookie(app, client):
    user = create_user(app, email="ada@example.com")
    browser_login(client, user.email)
    response = client.get("/auth/profile", headers=JSON)
    assert response.json["data"]["email"] == "ada@example.com"
    assert response.headers["X-CSRFToken"]
    assert response.headers["Cache-Control"] == "no-store"


def test_name_change_by_form(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    response = post_form(client, "/auth/profile", {"name": "  Countess  "}, token_page="/")
    assert response.status_code == 303
    page = text(client.get("/auth/profile", headers=HTML))
    assert "Your name has been saved." in page
    assert "<dd>Countess</dd>" in page


def test_name_change_by_form_with_an_empty_name_keeps_the_page(app, client):
    user = create_user(app, name="Ada")
    browser_login(client, user.email)
    response = post_form(client, "/auth/profile", {"name": " "}, token_page="/")
    assert response.status_code == 400
    assert 'id="name-error"' in text(response)
    assert "<dd>Ada</dd>" in text(response)


def test_name_change_by_json(app, client):
    user = create_user(app)
    token = json_login(client, user.email).headers["X-CSRFToken"]
    response = client.post(
        "/auth/profile", json={"name": "Countess"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200
    assert response.json["data"]["name"] == "Countess"


def test_password_change_by_form_rotates_the_session_and_ends_the_others(app, client):
    user = create_user(app)
    other = app.test_client()
    browser_login(other, user.email)
    browser_login(client, user.email)
    old_cookie = client.get_cookie("session").value
    response = post_form(
        client,
        "/auth/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        token_page="/",
    )
    assert response.status_code == 303
    assert "Your password has been changed" in text(client.get("/auth/profile", headers=HTML))
    assert other.get("/auth/profile", headers=JSON).status_code == 401
    client.set_cookie("session", old_cookie)
    assert client.get("/auth/profile", headers=JSON).status_code == 401
    rows = session_rows(app, user.id)
    assert sum(row.revoked_at is None for row in rows) == 1


def test_password_change_with_the_wrong_current_password_shows_the_field_error(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    response = post_form(
        client,
        "/auth/password",
        {"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        token_page="/",
    )
    assert response.status_code == 400
    page = text(response)
    assert 'id="current_password-error">Current password is incorrect' in page
    assert NEW_PASSWORD not in page


def test_password_change_by_bearer_keeps_the_token_session(app, client):
    user = create_user(app)
    tokens = login(client, user.email)
    response = client.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=tokens.headers,
    )
    assert response.status_code == 200
    assert client.get("/auth/profile", headers=tokens.headers).status_code == 200


# --- Registration, verification, recovery ---------------------------------------------------


def test_form_registration_signs_in_and_mails_a_verification_link(mail_app, client, smtp_server):
    response = post_form(
        client,
        "/auth/register",
        {"email": "New@Example.com", "password": NEW_PASSWORD, "name": "New Person"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/profile"
    page = text(client.get("/auth/profile", headers=HTML))
    assert "We sent a link to new@example.com" in page
    assert "not confirmed" in page
    [mail] = smtp_server.messages
    assert mail.envelope_to == ["new@example.com"]


def test_form_registration_with_a_taken_email_keeps_the_form(app, client):
    create_user(app, email="taken@example.com")
    response = post_form(
        client,
        "/auth/register",
        {"email": "taken@example.com", "password": NEW_PASSWORD, "name": "Someone"},
    )
    assert response.status_code == 409
    page = text(response)
    assert "Email already registered" in page
    assert 'value="Someone"' in page


def test_verification_link_confirms_the_address_on_a_page(mail_app, client, smtp_server):
    post_form(
        client,
        "/auth/register",
        {"email": "new@example.com", "password": NEW_PASSWORD, "name": "New"},
    )
    link = first_link(smtp_server.messages[0], "/auth/verify-email")
    response = client.get(link, headers=HTML)
    assert response.status_code == 200
    assert "Email address confirmed" in text(response)
    again = client.get(link, headers=HTML)
    assert again.status_code == 401
    assert "This link does not work" in text(again)


def test_verification_link_answers_json_to_json_clients(mail_app, client, smtp_server):
    client.post(
        "/auth/register", json={"email": "n@example.com", "password": NEW_PASSWORD, "name": "N"}
    )
    link = first_link(smtp_server.messages[0], "/auth/verify-email")
    response = client.get(link, headers=JSON)
    assert response.json["data"]["email_verified"] is True


def test_verification_page_without_token_explains(client):
    response = client.get("/auth/verify-email", headers=HTML)
    assert response.status_code == 400
    assert "This link does not work" in text(response)


def test_new_verification_link_from_the_profile(mail_app, client, smtp_server):
    user = create_user(mail_app)
    browser_login(client, user.email)
    response = post_form(client, "/auth/send-verification-email", {}, token_page="/")
    assert response.status_code == 303
    assert "We sent a new confirmation link" in text(client.get("/auth/profile", headers=HTML))
    assert len(smtp_server.messages) == 1


def test_new_verification_link_by_json(mail_app, client, smtp_server):
    user = create_user(mail_app)
    token = json_login(client, user.email).headers["X-CSRFToken"]
    response = client.post("/auth/send-verification-email", headers={"X-CSRFToken": token})
    assert response.status_code == 202
    assert len(smtp_server.messages) == 1


def test_forgot_and_reset_password_by_form(mail_app, client, smtp_server):
    user = create_user(mail_app)
    browser_login(client, user.email)
    response = post_form(client, "/auth/forgot-password", {"email": user.email})
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/login"
    link = first_link(smtp_server.messages[0], "/auth/reset-password")
    token = link.split("token=", 1)[1]
    page = client.get(link, headers=HTML)
    assert f'name="token" value="{token}"' in text(page)
    response = post_form(client, "/auth/reset-password", {"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 303
    assert client.get_cookie("session") is not None
    assert "Your password has been reset" in text(client.get("/auth/login", headers=HTML))
    assert client.get("/auth/profile", headers=JSON).status_code == 401
    browser_login(client, user.email, NEW_PASSWORD)


def test_forgot_password_answers_the_same_for_unknown_emails(mail_app, client, smtp_server):
    response = post_form(client, "/auth/forgot-password", {"email": "nobody@example.com"})
    assert response.status_code == 303
    assert smtp_server.messages == []
    json_answer = client.post("/auth/forgot-password", json={"email": "nobody@example.com"})
    assert json_answer.status_code == 202


def test_reset_with_a_bad_token_keeps_the_form_with_the_error(client):
    response = post_form(client, "/auth/reset-password", {"token": "bad", "password": NEW_PASSWORD})
    assert response.status_code == 401
    page = text(response)
    assert "The link is invalid or has expired" in page
    assert 'name="token" value="bad"' in page


def test_reset_by_json(mail_app, client, smtp_server):
    user = create_user(mail_app)
    client.post("/auth/forgot-password", json={"email": user.email})
    token = first_link(smtp_server.messages[0], "/auth/reset-password").split("token=", 1)[1]
    response = client.post("/auth/reset-password", json={"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 200
    assert response.json["message"] == "Password reset"


def test_failed_form_logins_are_rate_limited(app, client):
    user = create_user(app)
    statuses = [
        post_form(
            client, "/auth/login", {"email": user.email, "password": "wrong-guess-12"}
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]


def test_openapi_document_lists_the_browser_routes_with_form_bodies(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    login_operation = response.json["paths"]["/auth/login"]["post"]
    content = login_operation["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-www-form-urlencoded"}
    assert response.json["paths"]["/api/v1/users"]["post"]["responses"]["409"]["description"]
