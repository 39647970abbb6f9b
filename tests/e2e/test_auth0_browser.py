"""“Sign in with Auth0” in headless Chromium, against the local OpenID provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from services import auth0_service
from tests.e2e.conftest import BrowserErrors, LiveServer
from tests.factories import create_user, login
from tests.integration.test_mfa_api import code_at, enrol
from tests.mail_server import configured
from tests.oidc_provider import AUDIENCE, CLIENT_ID, CLIENT_SECRET, Provider, running_provider

pytestmark = pytest.mark.browser


@pytest.fixture
def tenant(live_app: Flask) -> Iterator[Provider]:
    with running_provider() as provider:
        settings = {
            "AUTH0_DOMAIN": "127.0.0.1",
            "AUTH0_AUDIENCE": AUDIENCE,
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "AUTH0_ISSUER_BASE_URL": provider.issuer,
            "AUTH0_AUTO_PROVISION": True,
        }
        with configured(live_app, **settings):
            yield provider
        for name in (auth0_service.EXTENSION, "auth0_oauth"):
            live_app.extensions.pop(name, None)


def test_sign_in_with_auth0_and_sign_out_of_the_tenant(
    page: Page, browser_errors: BrowserErrors, live_server: LiveServer, tenant: Provider
) -> None:
    page.goto("/auth/login")
    page.get_by_role("link", name="Sign in with Auth0").click()
    expect(page).to_have_url(f"{live_server.url}/auth/profile")
    expect(page.locator("main")).to_contain_text("browser@example.com")
    page.goto("/auth/logout")
    page.locator("#content").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/auth/login")
    page.goto("/auth/profile")
    expect(page).to_have_url(f"{live_server.url}/auth/login?next=/auth/profile")
    assert browser_errors.unexpected() == []


def test_sign_in_with_auth0_asks_for_the_local_code_when_two_factor_is_on(
    page: Page, browser_errors: BrowserErrors, live_server: LiveServer, tenant: Provider, live_app
) -> None:
    user = create_user(live_app, email="browser@example.com")  # linked by its verified email
    client = live_app.test_client()
    secret, _ = enrol(client, login(client, user.email))
    page.goto("/auth/login")
    page.get_by_role("link", name="Sign in with Auth0").click()
    expect(page).to_have_url(f"{live_server.url}/auth/login/mfa")
    page.get_by_label("Code").fill(code_at(secret, 1))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{live_server.url}/auth/profile")
    expect(page.locator("main")).to_contain_text("browser@example.com")
    assert browser_errors.unexpected() == []
