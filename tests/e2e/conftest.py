"""Fixtures for end-to-end tests in a real browser: the application served over HTTP from a
background thread, Debian's headless Chromium driven by Playwright, a real SMTP server for mail.

Playwright's own browser download does not work here, so it launches the system `chromium`.
Without it the tests are skipped locally and fail under CI=true (CI must run them).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from werkzeug.serving import make_server

from tests.mail_server import SMTPServer, configured, smtp_settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass
class LiveServer:
    """Where the application answers."""

    url: str


@dataclass
class BrowserErrors:
    """Everything the page reported as an error: console errors and uncaught exceptions."""

    messages: list[tuple[str, str]] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append((message.text, message.location.get("url", "")))

    def on_page_error(self, error: Exception) -> None:
        self.messages.append((f"uncaught: {error}", ""))

    def unexpected(self, *allowed_document_urls: str) -> list[tuple[str, str]]:
        """Errors other than the load failure of a document that answers an error on purpose."""
        return [
            (text, url)
            for text, url in self.messages
            if not (text.startswith("Failed to load resource") and url in allowed_document_urls)
        ]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium; missing: skip locally, fail in CI."""
    path = shutil.which("chromium")
    if path is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    """One headless Chromium per test worker."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def closed_before_sent(app: WSGIApplication) -> WSGIApplication:
    """`app` with each answer read whole, and its iterable closed, before the development server
    sends it. After sending, that server drains the socket before it calls `close()`, and a
    browser that resets the connection then (a favicon fetch abandoned) makes it skip the call:
    the static file stayed open and failed the test as a ResourceWarning (seen on Python 3.13)."""

    def answer(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    return answer


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The session's application served on 127.0.0.1 at a free port, in a background thread."""
    server = make_server("127.0.0.1", 0, closed_before_sent(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live_app(app: Flask, live_server: LiveServer, smtp_server: SMTPServer) -> Iterator[Flask]:
    """The served application, mailing to this test's SMTP server, links pointing at itself."""
    with configured(app, **smtp_settings(smtp_server), PUBLIC_BASE_URL=live_server.url):
        yield app


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture
def page(
    browser: Browser, live_server: LiveServer, live_app: Flask, browser_errors: BrowserErrors
) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page; errors it reports are collected."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    new_page.on("console", browser_errors.on_console)
    new_page.on("pageerror", browser_errors.on_page_error)
    yield new_page
    context.close()


def screenshot(page: Page, name: str) -> None:
    """Save the whole page as test-artifacts/screenshots/<name>.png (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
