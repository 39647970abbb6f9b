"""An administrator at work in the console (`/admin`), in headless Chromium against the live
server: sign in, find a user, act on the account, read and export the audit trail."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.e2e.conftest import BrowserErrors, LiveServer, screenshot
from tests.e2e.test_browser_flows import flash, sign_in
from tests.factories import PASSWORD, create_user
from tests.mail_server import SMTPServer, first_link, wait_for_messages

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN = "root@example.com"


def test_an_admin_finds_a_user_acts_on_the_account_and_exports_the_trail(
    page: Page,
    live_app: Flask,
    live_server: LiveServer,
    smtp_server: SMTPServer,
    browser_errors: BrowserErrors,
) -> None:
    create_user(live_app, email=ADMIN, name="Root Admin", role="admin")
    create_user(live_app, email="ada@example.com", name="Ada Lovelace")
    create_user(live_app, email="alan@example.com", name="Alan Turing")
    create_user(live_app, email="grace@example.com", name="Grace Hopper", is_active=False)

    # Signing in as an admin; the header leads to the console.
    page.goto("/admin/users")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=/admin/users$"))
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    expect(page.locator("tbody tr")).to_have_count(4)
    screenshot(page, "admin-01-users")

    # The only active admin cannot deactivate themself.
    page.goto("/admin/users?q=root")
    page.locator("tbody").get_by_role("link", name="Root Admin").click()
    page.get_by_role("link", name="Deactivate…").click()
    page.get_by_role("button", name="Deactivate").click()
    expect(flash(page)).to_have_text(
        "The last active administrator cannot be demoted, disabled or deleted"
    )
    page.goto("/admin/users")

    # Search and filter.
    page.get_by_label("Name or email contains").fill("a")
    page.get_by_label("Status").select_option("false")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=a.*is_active=false"))
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("grace@example.com")
    screenshot(page, "admin-02-users-filtered")
    page.get_by_label("Status").select_option("")
    page.get_by_label("Name or email contains").fill("lovelace")
    page.get_by_role("button", name="Search").click()
    page.locator("tbody").get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    screenshot(page, "admin-03-user-page")

    # Make her an admin, send her a reset link, end her sessions after confirming.
    page.get_by_label("Role").select_option("admin")
    page.get_by_role("button", name="Change role").click()
    expect(flash(page)).to_have_text("The role is now admin.")
    page.get_by_role("button", name="Send a password reset link").click()
    expect(flash(page)).to_have_text("A password reset link is on its way to the user.")
    (mail,) = wait_for_messages(smtp_server, 1)
    assert mail.envelope_to == ["ada@example.com"]
    assert first_link(mail, "/auth/reset-password").startswith(live_server.url)
    page.get_by_role("link", name="End all sessions…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("End every session?")
    screenshot(page, "admin-04-confirm-end-sessions")
    page.get_by_role("button", name="End all sessions").click()
    expect(flash(page)).to_have_text("Every session of this user has ended.")

    # Delete after confirming, then restore.
    page.get_by_role("link", name="Delete account…").click()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    page.get_by_role("link", name="Delete account…").click()
    page.get_by_role("button", name="Delete").click()
    expect(flash(page)).to_have_text("Account deleted. It can be restored from this page.")
    expect(page.locator(".details")).to_contain_text("deleted")
    screenshot(page, "admin-05-user-deleted")
    page.get_by_role("button", name="Restore account").click()
    expect(flash(page)).to_have_text("Account restored.")

    # The audit trail: filter, then export what is shown.
    page.get_by_role("link", name="Audit trail").click()
    page.get_by_label("Event type").select_option("user.role_changed")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Role changed from user to admin")
    screenshot(page, "admin-06-audit-filtered")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export these events (JSON lines)").click()
    download = download_info.value
    assert re.fullmatch(r"audit-events-\d{8}T\d{6}Z\.jsonl", download.suggested_filename)
    lines = [json.loads(line) for line in download.path().read_text("utf-8").splitlines()]
    assert [(e["type"], e["details"]) for e in lines] == [
        ("user.role_changed", {"from": "user", "to": "admin"})
    ]

    assert browser_errors.unexpected() == []


def test_a_signed_in_non_admin_sees_the_403_page(
    page: Page, live_app: Flask, live_server: LiveServer, browser_errors: BrowserErrors
) -> None:
    create_user(live_app, email="ada@example.com")
    sign_in(page, "ada@example.com", PASSWORD)
    expect(page).to_have_url(re.compile(r"/auth/profile$"))
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    response = page.goto("/admin/users")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    screenshot(page, "admin-07-not-allowed")
    assert browser_errors.unexpected(f"{live_server.url}/admin/users") == []
