"""A single-page app on another origin calls /api/v1 from Chromium (contract §9, web_cors.py).

The API is served on 127.0.0.1, the pages on `localhost` at other ports: different origins to
the browser. The page of the listed origin reads the caller's user with a Bearer token (the
browser sends a preflight first, since `Authorization` is not a simple header); the page of an
origin that is not listed cannot read the answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser
from werkzeug.serving import make_server

from tests import databases
from tests.apps import dispose_engines, make_app
from tests.factories import signed_in_user
from tests.ops_support import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SPA_PAGE = b"<!doctype html><html><head><title>SPA</title></head><body>a client app</body></html>"
# What the page's script does: fetch with the token, report status, body and exposed headers.
FETCH_USER = """async ([url, token]) => {
  try {
    const response = await fetch(url, {headers: {Authorization: `Bearer ${token}`}});
    return {status: response.status, body: await response.json(),
            requestId: response.headers.get("X-Request-ID")};
  } catch (error) {
    return {error: String(error)};
  }
}"""


def spa(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The static page of the client application."""
    start_response(
        "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(SPA_PAGE)))]
    )
    return [SPA_PAGE]


@contextmanager
def serving(application: Any, port: int = 0) -> Iterator[int]:
    """`application` on 127.0.0.1 in a background thread; yields its port."""
    server = make_server("127.0.0.1", port, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def spa_port() -> int:
    return free_port()


@pytest.fixture
def api_app(app: Flask, database: databases.TestDatabase, spa_port: int) -> Iterator[Flask]:
    """The application with the listed client origin `http://localhost:<spa_port>`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CORS_ORIGINS", f"http://localhost:{spa_port}")
        application = make_app(database.url)
    yield application
    dispose_engines(application)


def test_a_listed_origin_fetches_with_a_bearer_token_and_another_cannot(
    app: Flask, api_app: Flask, browser: Browser, spa_port: int
) -> None:
    caller = signed_in_user(app, api_app.test_client())
    with serving(api_app) as api_port, serving(spa, spa_port), serving(spa) as other_port:
        url = f"http://127.0.0.1:{api_port}/api/v1/users/{caller.user_id}"
        context = browser.new_context()
        page = context.new_page()
        try:
            page.goto(f"http://localhost:{spa_port}/")
            answer = page.evaluate(FETCH_USER, [url, caller.access_token])
            assert answer.get("status") == 200, answer
            assert answer["body"]["data"]["email"] == caller.email
            assert answer["requestId"]  # exposed to the script

            page.goto(f"http://localhost:{other_port}/")
            refused = page.evaluate(FETCH_USER, [url, caller.access_token])
            assert refused == {"error": "TypeError: Failed to fetch"}
        finally:
            context.close()
