"""Extension hooks skipped where they can have nothing to do (issue 18): Flask-CORS's without an
`Origin` header, Flask-Login's remember-cookie upkeep on the token APIs. Each skip fails loudly
at start-up if the extension's hooks change."""

from __future__ import annotations

import pytest
from flask import Flask

from blueprints.security import skip_cookie_upkeep_on_token_apis
from extensions import login_manager
from tests.factories import HTML, browser_login, create_user, signed_in_user
from web_cors import skip_without_origin

pytestmark = pytest.mark.integration


def varies_on(response) -> set[str]:  # type: ignore[no-untyped-def]
    return {name.strip() for line in response.headers.getlist("Vary") for name in line.split(",")}


def test_token_api_answers_do_not_vary_on_the_cookie(app, client):
    caller = signed_in_user(app, client)
    response = client.get("/api/v1/users/me", headers=caller.headers)
    assert response.status_code == 200
    assert "Cookie" not in varies_on(response)
    assert "Set-Cookie" not in response.headers


def test_pages_still_vary_on_the_cookie(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    response = client.get("/auth/profile", headers=HTML)
    assert response.status_code == 200
    assert "Cookie" in varies_on(response)


def test_the_skips_refuse_to_guess_when_the_extensions_change(app: Flask):
    with pytest.raises(RuntimeError, match="Flask-CORS"):
        skip_without_origin(app, list(app.after_request_funcs[None]))  # nothing new: no hook
    hooks = app.after_request_funcs[None]
    saved = hooks[:]
    try:
        hooks[:] = [login_manager._update_remember_cookie] * 2
        with pytest.raises(RuntimeError, match="Flask-Login"):
            skip_cookie_upkeep_on_token_apis(app)
    finally:
        hooks[:] = saved
