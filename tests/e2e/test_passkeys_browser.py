"""Passkeys in headless Chromium with a CDP virtual authenticator (ctap2, internal transport,
resident keys, user verification): add one on the profile page, sign out, sign in with it alone,
use it as the second step of an account with TOTP, rename and remove it; the login page keeps
working without JavaScript.

WebAuthn refuses IP addresses as relying party ids, so these pages are opened at `localhost`
(PUBLIC_BASE_URL follows), which browsers treat as a secure context over plain HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, CDPSession, Page, expect

from tests.e2e.conftest import BrowserErrors, LiveServer, screenshot
from tests.e2e.test_browser_flows import sign_in
from tests.factories import PASSWORD, create_user, login
from tests.mail_server import configured

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@dataclass
class PasskeyBrowser:
    """A page whose browser holds a virtual platform authenticator."""

    page: Page
    cdp: CDPSession
    authenticator_id: str

    def credentials(self) -> list[dict[str, Any]]:
        answer = self.cdp.send(
            "WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id}
        )
        credentials: list[dict[str, Any]] = answer["credentials"]
        return credentials


@pytest.fixture
def localhost_url(live_server: LiveServer, live_app: Flask) -> Iterator[str]:
    url = live_server.url.replace("127.0.0.1", "localhost")
    with configured(live_app, PUBLIC_BASE_URL=url):
        yield url


@pytest.fixture
def passkey_browser(
    browser: Browser, localhost_url: str, browser_errors: BrowserErrors
) -> Iterator[PasskeyBrowser]:
    context = browser.new_context(base_url=localhost_url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", browser_errors.on_console)
    page.on("pageerror", browser_errors.on_page_error)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})
    yield PasskeyBrowser(page=page, cdp=cdp, authenticator_id=added["authenticatorId"])
    context.close()


def flash(page: Page):
    return page.locator(".flash")


def add_passkey(page: Page, name: str) -> None:
    page.get_by_label("Name for a new passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(flash(page)).to_contain_text(f"Passkey “{name}” added.")


def sign_out(page: Page) -> None:
    page.locator(".site-header").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))


def test_add_a_passkey_sign_in_with_it_alone_rename_and_remove_it(
    passkey_browser: PasskeyBrowser,
    live_app: Flask,
    localhost_url: str,
    browser_errors: BrowserErrors,
) -> None:
    page = passkey_browser.page
    create_user(live_app, email="ada@example.com", name="Ada")
    sign_in(page, "ada@example.com", PASSWORD)
    expect(page).to_have_url(re.compile(r"/auth/profile$"))
    expect(page.locator("#passkeys-title")).to_have_text("Passkeys")
    expect(page.get_by_text("No passkeys yet.")).to_be_visible()

    add_passkey(page, "Laptop")
    expect(page.locator(".passkey-name")).to_have_text(["Laptop"])
    expect(page.locator(".passkey")).to_contain_text("never used")
    [stored] = passkey_browser.credentials()
    assert stored["isResidentCredential"] is True
    assert stored["rpId"] == "localhost"
    screenshot(page, "40-passkey-added")

    # Conditional mediation: the login page asks for a passkey as it loads, and the browser's
    # autofill choice (made at once by the virtual authenticator) signs in without a click.
    sign_out(page)
    expect(page).to_have_url(re.compile(r"/auth/profile$"))
    expect(flash(page)).to_have_text("Welcome back, Ada.")
    expect(page.locator(".passkey")).to_contain_text("last used")
    expect(page.locator(".events")).to_contain_text("Signed in with a passkey")

    # The button: with nobody at the authenticator, the autofill request waits; the button
    # replaces it with a request of its own.
    sign_out_waiting(passkey_browser)
    expect(page.get_by_label("Email address")).to_have_attribute(
        "autocomplete", "username webauthn"
    )
    screenshot(page, "41-login-with-passkey-button")
    click_passkey_button(passkey_browser)
    expect(page).to_have_url(re.compile(r"/auth/profile$"))
    expect(flash(page)).to_have_text("Welcome back, Ada.")
    assert passkey_browser.credentials()[0]["signCount"] >= 2

    page.get_by_label("New name for Laptop").fill("Work laptop")
    page.get_by_role("button", name="Rename").click()
    expect(flash(page)).to_have_text("Passkey renamed to “Work laptop”.")
    expect(page.locator(".passkey-name")).to_have_text(["Work laptop"])
    screenshot(page, "42-passkey-renamed")

    page.get_by_role("button", name="Remove Work laptop").click()
    expect(flash(page)).to_have_text("Passkey removed.")
    expect(page.get_by_text("No passkeys yet.")).to_be_visible()

    # The authenticator still holds the credential; the site no longer accepts it.
    sign_out_waiting(passkey_browser)
    click_passkey_button(passkey_browser)
    expect(page.locator("[data-passkey-error]")).to_contain_text("not accepted")
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    assert browser_errors.unexpected(f"{localhost_url}/auth/passkeys/login") == []


def presence(passkey_browser: PasskeyBrowser, *, enabled: bool) -> None:
    """Whether the virtual authenticator answers at once (someone touches it) or waits."""
    passkey_browser.cdp.send(
        "WebAuthn.setAutomaticPresenceSimulation",
        {"authenticatorId": passkey_browser.authenticator_id, "enabled": enabled},
    )


def sign_out_waiting(passkey_browser: PasskeyBrowser) -> None:
    """Sign out to a login page whose autofill passkey request waits for a touch."""
    presence(passkey_browser, enabled=False)
    sign_out(passkey_browser.page)
    expect(
        passkey_browser.page.get_by_role("button", name="Sign in with a passkey")
    ).to_be_visible()


def click_passkey_button(passkey_browser: PasskeyBrowser) -> None:
    presence(passkey_browser, enabled=True)
    passkey_browser.page.get_by_role("button", name="Sign in with a passkey").click()


def test_a_passkey_is_the_second_step_of_an_account_with_totp(
    passkey_browser: PasskeyBrowser, live_app: Flask, browser_errors: BrowserErrors
) -> None:
    page = passkey_browser.page
    user = create_user(live_app, email="grace@example.com", name="Grace")
    sign_in(page, user.email, PASSWORD)
    add_passkey(page, "Phone")
    client = live_app.test_client()
    signed = login(client, user.email)
    secret = client.post("/api/v1/auth/2fa/enroll", headers=signed.headers).json["data"]["secret"]
    confirmed = client.post(
        "/api/v1/auth/2fa/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=signed.headers
    )
    assert confirmed.status_code == 200

    sign_out_waiting(passkey_browser)
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/auth/login/mfa$"))
    screenshot(page, "43-second-step-with-passkey")
    presence(passkey_browser, enabled=True)
    page.get_by_role("button", name="Use a passkey instead").click()
    expect(page).to_have_url(re.compile(r"/auth/profile$"))
    expect(flash(page)).to_have_text("Welcome back, Grace.")
    expect(page.locator(".events")).to_contain_text("Signed in with a passkey")
    assert browser_errors.unexpected() == []


def test_the_login_page_works_without_javascript(
    browser: Browser, live_app: Flask, localhost_url: str
) -> None:
    context = browser.new_context(base_url=localhost_url, java_script_enabled=False)
    page = context.new_page()
    create_user(live_app, email="plain@example.com")
    page.goto("/auth/login")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    sign_in(page, "plain@example.com", PASSWORD)
    expect(page).to_have_url(re.compile(r"/auth/profile$"))
    expect(page.get_by_role("button", name="Add a passkey")).to_be_hidden()
    expect(
        page.get_by_text("Adding a passkey needs a browser with passkey support")
    ).to_be_visible()
    context.close()
