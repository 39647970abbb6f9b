"""Hardening headers on every response, the HTTPS redirect and HSTS, trusted proxy headers."""

from __future__ import annotations

import pytest
from flask import request

from tests.apps import make_app
from tests.mail_server import configured

pytestmark = pytest.mark.integration

HTML = {"Accept": "text/html"}


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/", HTML),
        ("/auth/login", HTML),
        ("/auth/login", {}),
        ("/api/v1/health", {}),
        ("/health", {}),
        ("/nope", HTML),
        ("/api/v1/nope", {}),
        ("/static/css/app.css", {}),
        ("/docs", HTML),
    ],
)
def test_every_response_carries_the_hardening_headers(client, path, headers):
    response = client.get(path, headers=headers)
    response.close()  # static files are streamed
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # FORCE_HTTPS is off


def test_pages_contain_no_inline_script(client):
    for path in ("/", "/auth/login", "/auth/register", "/docs"):
        page = client.get(path, headers=HTML).get_data(as_text=True)
        assert "<script>" not in page
        assert " on" + "click=" not in page


def test_account_pages_are_not_cached(client):
    assert client.get("/auth/login", headers=HTML).headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/", headers=HTML).headers.get("Cache-Control", "")


@pytest.mark.parametrize(
    ("method", "path", "location"),
    [
        ("GET", "/auth//login?next=/x", "/auth/login?next=/x"),
        ("POST", "/auth///login", "/auth/login"),
        ("GET", "/api/v1//health", "/api/v1/health"),
    ],
)
def test_routing_redirects_are_relative_whatever_the_host(client, method, path, location):
    response = client.open(path, method=method, headers={"Host": "evil.example", **HTML})
    assert response.status_code == 308
    assert response.headers["Location"] == location


def test_force_https_redirects_to_the_public_host_not_the_request_host(app, client):
    with configured(app, FORCE_HTTPS=True, PUBLIC_BASE_URL="http://accounts.example.com"):
        forged = client.get("/auth/l%3Fgin?next=/x", headers={"Host": "evil.example", **HTML})
    assert forged.status_code == 301
    assert forged.headers["Location"] == "https://accounts.example.com/auth/l%3Fgin?next=/x"


def test_an_untrusted_host_is_refused_before_any_redirect(app, client):
    with configured(app, FORCE_HTTPS=True, TRUSTED_HOSTS=["accounts.example.com", "localhost"]):
        forged = client.get("/auth//login", headers={"Host": "evil.example", **HTML})
        trusted = client.get("/auth//login", headers={"Host": "accounts.example.com", **HTML})
    assert forged.status_code == 400
    assert forged.json["error"]["code"] == "BAD_REQUEST"
    assert "Location" not in forged.headers
    assert trusted.status_code == 308
    assert trusted.headers["Location"] == "/auth/login"


def test_force_https_redirects_plain_http(app, client):
    with configured(app, FORCE_HTTPS=True, PUBLIC_BASE_URL="http://localhost"):
        page = client.get("/auth/login?next=/x", headers=HTML)
        form = client.post("/auth/login", data={"email": "a"})
        health = client.get("/health")
    assert page.status_code == 301
    assert page.headers["Location"] == "https://localhost/auth/login?next=/x"
    assert form.status_code == 308  # keeps the method and the body
    assert health.status_code == 200  # load balancers probe over plain HTTP


def test_force_https_sends_hsts_over_https(app, client):
    with configured(app, FORCE_HTTPS=True, HSTS_MAX_AGE=600):
        response = client.get("/health", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains"


def test_proxy_fix_trusts_the_configured_forwarded_headers(database, monkeypatch):
    monkeypatch.setenv("PROXY_FIX_X_PROTO", "1")
    monkeypatch.setenv("PROXY_FIX_X_FOR", "1")
    application = make_app(database.url, FORCE_HTTPS=True)
    client = application.test_client()
    behind_proxy = client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in behind_proxy.headers
    direct = client.get("/auth/login", headers=HTML)
    assert direct.status_code == 301


def test_forwarded_headers_are_ignored_without_proxy_settings(app, client):
    with configured(app, FORCE_HTTPS=True):
        response = client.get("/auth/login", headers={"X-Forwarded-Proto": "https", **HTML})
    assert response.status_code == 301


def test_the_session_signer_is_built_only_for_a_session_cookie(app, monkeypatch):
    """API calls carry no cookie: their empty session needs no signer (a per-request cost)."""
    interface = app.session_interface
    built = []
    monkeypatch.setattr(interface, "get_signing_serializer", lambda a: built.append(a))
    with app.test_request_context("/api/v1/users/1"):
        assert interface.open_session(app, request) == {}
    assert built == []
    with app.test_request_context("/", headers={"Cookie": "session=signed-value"}):
        interface.open_session(app, request)
    assert built, "a cookie is read through the signer"
