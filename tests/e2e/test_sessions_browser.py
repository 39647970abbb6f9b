"""Ending another session from the profile page in headless Chromium: the other browser is
signed out at once (contract §9)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import BrowserErrors, LiveServer, screenshot
from tests.factories import PASSWORD, create_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OTHER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def sign_in(page: Page, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/auth/profile$"))


def test_signing_out_another_browser_from_the_profile_page(
    page: Page,
    browser: Browser,
    live_app,
    live_server: LiveServer,
    browser_errors: BrowserErrors,
) -> None:
    user = create_user(live_app, email="ada@example.com")
    other = browser.new_context(base_url=live_server.url, user_agent=OTHER_AGENT)
    other.set_default_timeout(10_000)
    try:
        other_page = other.new_page()
        sign_in(other_page, user.email)
        sign_in(page, user.email)

        sessions = page.locator(".sessions .session")
        expect(sessions).to_have_count(2)
        current = page.locator(".session-current")
        expect(current).to_contain_text("this device")
        another = sessions.filter(has_text="Firefox on Linux")
        expect(another).to_have_count(1)
        expect(another).to_contain_text("from 127.0.0.1")
        screenshot(page, "sessions-01-two-sessions")

        another.get_by_role("button", name="Sign out this session").click()
        expect(page).to_have_url(re.compile(r"/auth/profile$"))
        expect(page.locator(".flash")).to_contain_text("That session has been signed out.")
        expect(sessions).to_have_count(1)
        expect(page.get_by_text("You are signed in nowhere else.")).to_be_visible()
        screenshot(page, "sessions-02-signed-out-elsewhere")

        # The other browser's cookie stopped working: its next page asks it to sign in.
        other_page.goto("/auth/profile")
        expect(other_page).to_have_url(re.compile(r"/auth/login"))
        expect(other_page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        # This browser is still signed in.
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your profile")
    finally:
        other.close()
    assert browser_errors.unexpected() == []
