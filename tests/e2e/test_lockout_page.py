"""A person locked out of signing in sees the form again and how long to wait (Chromium)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.e2e.test_browser_flows import sign_in
from tests.factories import PASSWORD, create_user
from tests.mail_server import configured

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_locked_out_person_sees_the_sign_in_form_and_the_wait(page: Page, live_app: Flask):
    create_user(live_app, email="patience@example.com")
    with configured(live_app, RATELIMIT_LOGIN_PER_ACCOUNT="2/minute"):
        for _ in range(2):
            sign_in(page, "patience@example.com", "wrong-Password-000")
        sign_in(page, "patience@example.com", PASSWORD)
        expect(
            page.get_by_text(re.compile(r"Too many attempts\. Try again in \d+ seconds\."))
        ).to_be_visible()
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_value("patience@example.com")
