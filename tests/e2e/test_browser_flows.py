"""A person's whole account life in headless Chromium, against the live server (contract §5)."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from models import utcnow
from tests.e2e.conftest import BrowserErrors, LiveServer, screenshot
from tests.factories import PASSWORD, create_user
from tests.mail_server import SMTPServer, first_link

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EMAIL = "grace@example.com"
FIRST_PASSWORD = "correct-Horse-battery-58"
SECOND_PASSWORD = "another-Lantern-93-Quartz"
THIRD_PASSWORD = "silver-Meadow-71-Compass"


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_in_with_keyboard_only(page: Page, email: str, password: str) -> None:
    """Tab from the top of the page to the email field, type, Tab, type, Enter."""
    page.goto("/auth/login")
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    else:
        pytest.fail("the email field cannot be reached with the Tab key")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")


def flash(page: Page):
    return page.locator(".flash")


def test_account_life_from_registration_to_password_reset(
    page: Page,
    browser: Browser,
    live_server: LiveServer,
    smtp_server: SMTPServer,
    browser_errors: BrowserErrors,
) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    screenshot(page, "01-home")

    # Register: signed in at once, a verification mail on its way.
    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(re.compile(r"/auth/register$"))
    screenshot(page, "02-register")
    page.get_by_label("Your name").fill("Grace Hopper")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/auth/profile$"))
    expect(flash(page)).to_contain_text("We sent a link to grace@example.com")
    expect(page.locator(".badge")).to_have_text("not confirmed")
    screenshot(page, "03-profile-after-registration")

    # The verification link from the mail confirms the address.
    assert len(smtp_server.messages) == 1
    page.goto(first_link(smtp_server.messages[0], "/auth/verify-email"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Email address confirmed")
    screenshot(page, "04-email-confirmed")

    # Sign out (the confirmation page first, then the button).
    page.goto("/auth/logout")
    screenshot(page, "05-sign-out")
    page.get_by_role("main").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(flash(page)).to_have_text("You have been signed out.")
    screenshot(page, "06-signed-out")

    # Sign in again; the profile says the address is confirmed.
    sign_in(page, EMAIL, FIRST_PASSWORD)
    expect(page).to_have_url(re.compile(r"/auth/profile$"))
    expect(page.locator(".badge")).to_have_text("confirmed")

    # Edit the name.
    page.get_by_label("Name", exact=True).fill("Rear Admiral Grace Hopper")
    page.get_by_role("button", name="Save name").click()
    expect(flash(page)).to_have_text("Your name has been saved.")
    expect(page.locator(".details")).to_contain_text("Rear Admiral Grace Hopper")
    screenshot(page, "07-profile-name-saved")

    # Change the password; a copy of the cookie from before the change no longer works.
    old_cookies = page.context.cookies()
    page.get_by_label("Current password").fill(FIRST_PASSWORD)
    page.get_by_label("New password").fill(SECOND_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(flash(page)).to_contain_text("Your password has been changed")
    screenshot(page, "08-password-changed")
    page.reload()
    expect(page).to_have_url(re.compile(r"/auth/profile$"))

    replay = browser.new_context(base_url=live_server.url)
    replay.add_cookies(old_cookies)
    replayed = replay.new_page()
    replayed.goto("/auth/profile")
    expect(replayed).to_have_url(re.compile(r"/auth/login\?next=/auth/profile$"))
    replay.close()

    # Forgot the new password: sign out, ask for a link, reset through the mail.
    page.locator(".site-header").get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Forgot your password?").click()
    screenshot(page, "09-forgot-password")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Send the link").click()
    expect(flash(page)).to_contain_text("a reset link is on its way")
    # The verification link, the notice of the password change, the reset link.
    assert len(smtp_server.messages) == 3
    assert smtp_server.messages[1].message["Subject"] == "Your password was changed"
    page.goto(first_link(smtp_server.messages[2], "/auth/reset-password"))
    screenshot(page, "10-reset-password")
    page.get_by_label("New password").fill(THIRD_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(flash(page)).to_contain_text("Your password has been reset")
    screenshot(page, "11-login-after-reset")

    # The new password works, with the keyboard alone.
    sign_in_with_keyboard_only(page, EMAIL, THIRD_PASSWORD)
    expect(page).to_have_url(re.compile(r"/auth/profile$"))
    expect(page.locator(".details")).to_contain_text("Rear Admiral Grace Hopper")
    screenshot(page, "12-profile-after-reset")

    assert browser_errors.unexpected() == []


def test_form_errors_are_shown_next_to_fields_and_values_are_kept(
    page: Page, browser_errors: BrowserErrors, live_server: LiveServer
) -> None:
    page.goto("/auth/register")
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("Email address").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#email-error")).to_have_text("Invalid email format")
    expect(page.get_by_label("Email address")).to_have_value("not-an-email")
    expect(page.get_by_label("Email address")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Your name")).to_have_value("Ada")
    expect(page.get_by_label("Password")).to_have_value("")
    screenshot(page, "13-register-errors")
    assert browser_errors.unexpected(f"{live_server.url}/auth/register") == []


def test_form_posted_without_its_csrf_token_is_refused(
    page: Page, browser_errors: BrowserErrors, live_server: LiveServer, live_app
) -> None:
    create_user(live_app, email="ada@example.com")
    page.goto("/auth/login")
    page.locator("#content input[name=csrf_token]").evaluate("field => field.remove()")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator(".error-status")).to_have_text("403")
    expect(page.locator(".site-header")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()  # still signed out
    screenshot(page, "14-csrf-refused")
    assert browser_errors.unexpected(f"{live_server.url}/auth/login") == []


def test_unknown_page_shows_the_404_page_in_the_layout(
    page: Page, browser_errors: BrowserErrors, live_server: LiveServer
) -> None:
    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.locator(".site-header .brand")).to_be_visible()
    expect(page.locator(".site-footer")).to_be_visible()
    screenshot(page, "15-not-found")
    assert browser_errors.unexpected(f"{live_server.url}/no-such-page") == []


def test_next_pointing_off_site_is_not_followed(
    page: Page, browser_errors: BrowserErrors, live_server: LiveServer, live_app
) -> None:
    create_user(live_app, email="ada@example.com")
    page.goto("/auth/login?next=https://elsewhere.example/")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/auth/profile")
    assert browser_errors.unexpected() == []


def test_protected_page_sends_to_sign_in_and_back(
    page: Page, browser_errors: BrowserErrors, live_server: LiveServer, live_app
) -> None:
    create_user(live_app, email="ada@example.com")
    page.goto("/auth/profile")
    expect(page).to_have_url(f"{live_server.url}/auth/login?next=/auth/profile")
    screenshot(page, "16-login")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Password").fill("wrong-password-123")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator(".error-summary")).to_contain_text("Invalid email or password")
    expect(page.get_by_label("Email address")).to_have_value("ada@example.com")
    screenshot(page, "17-login-failed")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/auth/profile")
    login_url = f"{live_server.url}/auth/login?next=/auth/profile"
    assert browser_errors.unexpected(login_url) == []


@pytest.mark.parametrize(
    ("path", "title", "shot"),
    [("/docs", "flask-backend-app", "18-api-docs"), ("/v1/docs", "the old /v1 API", "18-v1-docs")],
)
def test_api_docs_page_works_under_the_content_security_policy(
    page: Page, browser_errors: BrowserErrors, path: str, title: str, shot: str
) -> None:
    page.goto(path)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(title)
    expect(page.locator(".opblock").first).to_be_visible()
    screenshot(page, shot)
    assert browser_errors.unexpected() == []


def totp_code(secret: str, offset: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(utcnow()) + offset)


def test_two_factor_turned_on_then_asked_at_sign_in(
    page: Page, browser_errors: BrowserErrors, live_server: LiveServer, live_app
) -> None:
    create_user(live_app, email="ada@example.com")
    sign_in(page, "ada@example.com", PASSWORD)
    expect(page).to_have_url(re.compile(r"/auth/profile$"))
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page).to_have_url(re.compile(r"/auth/2fa/setup$"))
    expect(page.locator(".qr-code svg")).to_be_visible()
    screenshot(page, "16-two-factor-setup")
    secret = page.locator("code.secret").inner_text()
    page.get_by_label("First code from the app").fill(totp_code(secret))
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    screenshot(page, "17-recovery-codes")

    page.goto("/auth/profile")
    page.locator(".site-header").get_by_role("button", name="Sign out").click()
    sign_in(page, "ada@example.com", PASSWORD)
    expect(page).to_have_url(re.compile(r"/auth/login/mfa$"))
    page.get_by_label("Code").fill(totp_code(secret, 1))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/auth/profile$"))
    expect(page.locator("#events-title")).to_be_visible()
    expect(page.locator(".events")).to_contain_text("Two-factor authentication turned on")
    screenshot(page, "18-signed-in-with-two-factor")
    assert browser_errors.unexpected() == []


def test_weak_password_shows_all_its_problems_and_the_profile_events_read_as_words(
    page: Page, live_app, browser_errors: BrowserErrors, live_server: LiveServer
) -> None:
    page.goto("/auth/register")
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#password-error li")).to_have_text(
        ["Password must be at least 12 characters", "Password is too common"]
    )
    screenshot(page, "21-register-weak-password")

    user = create_user(live_app, email="events@example.com", name="Evelyn")
    sign_in(page, user.email, "not-the-password-1")
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/auth/profile$"))
    events = page.locator(".events .event-label")
    expect(events).to_have_text(["Signed in", "Failed sign-in attempt"])
    expect(page.locator(".events")).not_to_contain_text("auth.")
    page.locator("#events-title").scroll_into_view_if_needed()
    screenshot(page, "22-profile-security-events")
    refused = [f"{live_server.url}/auth/register", f"{live_server.url}/auth/login"]
    assert browser_errors.unexpected(*refused) == []
