"""Switching the language in the page footer, in headless Chromium (i18n.py, POST /locale)."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from models import User, db
from tests.e2e.conftest import BrowserErrors, LiveServer, screenshot
from tests.factories import PASSWORD, create_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def footer(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("footer")


def test_the_footer_switches_the_language_and_a_signed_in_user_keeps_it(
    page: Page,
    live_app: Flask,
    browser: Browser,
    live_server: LiveServer,
    browser_errors: BrowserErrors,
) -> None:
    user = create_user(live_app, name="Grace")
    page.goto("/auth/login?next=/auth/profile")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/auth/profile")

    footer(page).get_by_role("button", name="Deutsch").click()
    expect(page).to_have_url(f"{live_server.url}/auth/profile")  # back where the switch was
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Profil")
    expect(footer(page).locator("[aria-current]")).to_have_text("Deutsch")
    screenshot(page, "language-01-profile-de")
    with live_app.app_context():
        assert db.session.get(User, user.id).locale == "de"  # type: ignore[union-attr]

    # Another browser, English by its headers and without the cookie: the account's choice wins.
    other = browser.new_context(base_url=live_server.url, locale="en-US")
    try:
        second = other.new_page()
        second.goto("/auth/login")
        expect(second.locator("html")).to_have_attribute("lang", "en")
        second.get_by_label("Email address").fill(user.email)
        second.get_by_label("Password").fill(PASSWORD)
        second.get_by_role("button", name="Sign in", exact=True).click()
        expect(second.locator("html")).to_have_attribute("lang", "de")
        expect(second.locator(".flash")).to_have_text("Willkommen zurück, Grace.")
    finally:
        other.close()

    footer(page).get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your profile")
    with live_app.app_context():
        assert db.session.get(User, user.id).locale == "en"  # type: ignore[union-attr]
    assert browser_errors.unexpected() == []


def test_a_visitor_switches_with_the_keyboard_and_the_choice_stays(
    page: Page, live_server: LiveServer, browser_errors: BrowserErrors
) -> None:
    page.goto("/auth/register")
    footer(page).get_by_role("button", name="Deutsch").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/auth/register")
    expect(page.get_by_role("heading", level=1)).to_have_text("Konto erstellen")
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Willkommen bei")
    screenshot(page, "language-02-home-de")
    assert browser_errors.unexpected() == []
