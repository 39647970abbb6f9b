"""Changing one's email address in headless Chromium: the profile's form, the link mailed to the
new address, the undo link mailed to the old one (contract §9)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import BrowserErrors, LiveServer, screenshot
from tests.e2e.test_browser_flows import flash, sign_in
from tests.factories import PASSWORD, create_user
from tests.mail_server import SMTPServer, first_link

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OLD = "ada@example.com"
NEW = "ada.lovelace@example.org"


def mail_to(server: SMTPServer, address: str):
    (mail,) = [mail for mail in server.messages if mail.envelope_to == [address]]
    return mail


def test_email_change_from_the_profile_then_undone_from_the_old_address(
    page: Page,
    live_app,
    live_server: LiveServer,
    smtp_server: SMTPServer,
    browser_errors: BrowserErrors,
):
    create_user(live_app, email=OLD, name="Ada")
    sign_in(page, OLD, PASSWORD)
    expect(page).to_have_url(re.compile(r"/auth/profile$"))

    # A wrong password: the form comes back with the error next to its field, the address kept.
    section = page.locator("section", has=page.get_by_role("heading", name="Change your email"))
    section.get_by_label("New email address").fill(NEW)
    section.get_by_label("Confirm with your password").fill("not-the-Password-00")
    section.get_by_role("button", name="Send the confirmation link").click()
    expect(page.locator("#email_current_password-error")).to_have_text(
        "Current password is incorrect"
    )
    expect(page.get_by_label("New email address")).to_have_value(NEW)
    screenshot(page, "email-01-wrong-password")

    page.get_by_label("Confirm with your password").fill(PASSWORD)
    page.get_by_role("button", name="Send the confirmation link").click()
    expect(flash(page)).to_contain_text(f"We sent a link to {NEW}")
    expect(page.locator(".details")).to_contain_text(OLD)
    screenshot(page, "email-02-link-sent")

    # The new address's link shows a button; pressing it makes the change.
    page.goto(first_link(mail_to(smtp_server, NEW), "/auth/email/confirm"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your new email address")
    screenshot(page, "email-03-confirm-page")
    page.get_by_role("button", name="Confirm the new address").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email address changed")
    page.get_by_role("link", name="Go to your profile").click()
    expect(page.locator(".details")).to_contain_text(NEW)
    screenshot(page, "email-04-changed")

    # The old address's notice undoes it, and signs this browser out too.
    page.goto(first_link(mail_to(smtp_server, OLD), "/auth/email/undo"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Undo the email change")
    screenshot(page, "email-05-undo-page")
    page.get_by_role("button", name="Undo the change and sign out everywhere").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email change undone")
    screenshot(page, "email-06-undone")
    page.goto("/auth/profile")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=/auth/profile$"))
    sign_in(page, OLD, PASSWORD)
    expect(page.locator(".details")).to_contain_text(OLD)

    # The refused form answered 400 on purpose.
    assert browser_errors.unexpected(f"{live_server.url}/auth/email") == []
