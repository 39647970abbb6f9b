"""JSON log lines with request and user ids, rotating files, and no secret ever written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler

import pytest
from flask import Flask, request

from observability.logs import identify, remove_app_handlers
from tests.factories import create_user, login
from tests.ops_support import throwaway_app

pytestmark = pytest.mark.integration

PASSWORD = "CorrectHorse-9f3a-Battery"
TOKEN = "tok-71c2d9e4b5a6f7081"
REFRESH = "rt-5a6b7c8d9e0f11223344"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsInR5cCI6ImFjY2VzcyJ9.sig-Zm9vYmFyYmF6cXV4"
COOKIE_SESSION = "sess-0d1e2f3a4b5c6d7e"
COOKIE_REMEMBER = "remember-99aa88bb77cc"
SECRETS = (
    PASSWORD,
    TOKEN,
    REFRESH,
    BEARER,
    "sig-Zm9vYmFyYmF6cXV4",
    COOKIE_SESSION,
    COOKIE_REMEMBER,
)


def stdout_of_app_handlers() -> io.StringIO:
    """Point the app's stdout handler at a buffer (pytest swaps sys.stdout between phases)."""
    buffer = io.StringIO()
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_app_handler", False) and not isinstance(handler, RotatingFileHandler):
            handler.setStream(buffer)  # type: ignore[attr-defined]
    return buffer


@pytest.fixture
def logged_app(database, tmp_path, monkeypatch) -> Iterator[tuple[Flask, io.StringIO]]:
    """An app logging JSON at DEBUG to stdout and to files, with a route that logs everything."""
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("LOG_FILE_ENABLED", "true")
    monkeypatch.setenv("LOG_DIR", str(tmp_path / "logs"))
    with throwaway_app(database.url) as application:
        logger = logging.getLogger("tests.careless")

        @application.post("/_test/careless")
        def careless() -> dict[str, str]:
            identify(42)  # what the auth code does on an authenticated request
            body = request.get_json()
            logger.debug("headers %s", dict(request.headers))
            logger.debug("raw headers %r", list(request.headers.items()))
            logger.debug("cookies %s body %s", request.cookies, body)
            logger.info("login attempt", extra={"password": body["password"], "body": body})
            try:
                raise ValueError(f"bad login password={body['password']} token={body['token']}")
            except ValueError:
                logger.exception("login failed for %s", request.headers["Authorization"])
            return {"ok": "yes"}

        yield application, stdout_of_app_handlers()
    remove_app_handlers()


def send_secret_requests(application: Flask) -> None:
    client = application.test_client()
    client.set_cookie("session", COOKIE_SESSION)
    client.set_cookie("remember_token", COOKIE_REMEMBER)
    headers = {"Authorization": f"Bearer {BEARER}", "X-Request-ID": "trace-secrets"}
    body = {
        "email": "a@example.com",
        "password": PASSWORD,
        "token": TOKEN,
        "refresh_token": REFRESH,
    }
    assert client.post("/_test/careless", json=body, headers=headers).status_code == 200
    for path in ("/api/v1/health", "/health/detailed", "/api/v1/status"):
        assert client.get(path, headers=headers).status_code == 200
    assert client.post("/api/v1/auth/login", json=body, headers=headers).status_code == 400
    assert client.post(f"/api/v1/x?token={TOKEN}", data="password=" + PASSWORD).status_code == 415


def test_no_password_token_cookie_or_authorization_reaches_any_log(logged_app, tmp_path):
    application, buffer = logged_app
    send_secret_requests(application)
    stdout = buffer.getvalue()
    files = {p.name: p.read_text() for p in (tmp_path / "logs").iterdir()}
    assert set(files) == {"flask_app.log", "error.log"}
    assert "login failed" in files["error.log"]
    assert "login attempt" not in files["error.log"]
    for output in (stdout, *files.values()):
        assert "headers" in output or "login failed" in output
        for secret in SECRETS:
            assert secret not in output
    assert "[REDACTED]" in stdout


def test_a_full_login_refresh_logout_writes_no_credential(app, logged_app, tmp_path):
    """(`app` is requested so the rows this test creates are cleared afterwards.)"""
    application, buffer = logged_app
    create_user(application, email="real@example.com", password=PASSWORD)
    client = application.test_client()
    signed_in = login(client, "real@example.com", PASSWORD)
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": signed_in.refresh_token})
    assert refreshed.status_code == 200
    tokens = refreshed.json["data"]
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/auth/profile", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", json={}, headers=headers).status_code == 200
    assert client.get("/auth/profile", headers=headers).status_code == 401
    wrong = {"email": "real@example.com", "password": PASSWORD + "-wrong"}
    assert client.post("/api/v1/auth/login", json=wrong).status_code == 401

    outputs = [buffer.getvalue(), *(p.read_text() for p in (tmp_path / "logs").iterdir())]
    credentials = (
        PASSWORD,
        signed_in.access_token,
        signed_in.refresh_token,
        tokens["access_token"],
        tokens["refresh_token"],
    )
    assert "/api/v1/auth/refresh" in outputs[0], "the flow was logged"
    for output in outputs:
        for credential in credentials:
            assert credential not in output
            assert credential.split(".")[-1] not in output  # not even a JWT's signature


def test_every_line_of_a_request_is_json_with_its_request_and_user_id(logged_app):
    application, buffer = logged_app
    send_secret_requests(application)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line]
    careless = [line for line in lines if line.get("request_id") == "trace-secrets"]
    first_request = [line for line in careless if line["user_id"] == 42]
    assert len(first_request) >= 6  # the route's five lines and its access line
    access = [line for line in first_request if line["logger"] == "app.access"]
    assert access[0]["status"] == 200
    assert access[0]["path"] == "/_test/careless"
    assert {"timestamp", "level", "logger", "message", "process"} <= set(access[0])
    assert all("user_id" in line and "request_id" in line for line in lines)
    outside = [line for line in lines if line["request_id"] == "-"]
    assert all(line["user_id"] is None for line in outside)


def test_text_format_is_available_for_development(database, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "text")
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    with throwaway_app(database.url) as application:
        buffer = stdout_of_app_handlers()
        application.test_client().get("/health", headers={"X-Request-ID": "trace-text"})
    remove_app_handlers()
    out = buffer.getvalue()
    assert "[trace-text] [user=None] app.access: GET /health 200" in out


def test_log_files_rotate_at_the_configured_size(database, tmp_path, monkeypatch):
    monkeypatch.setenv("LOG_FILE_ENABLED", "true")
    monkeypatch.setenv("LOG_DIR", str(tmp_path))
    monkeypatch.setenv("LOG_FILE_MAX_BYTES", "2048")
    monkeypatch.setenv("LOG_FILE_BACKUP_COUNT", "2")
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    with throwaway_app(database.url):
        for number in range(100):
            logging.getLogger("tests.rotation").info("line %d %s", number, "x" * 50)
    remove_app_handlers()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["error.log", "flask_app.log", "flask_app.log.1", "flask_app.log.2"]
    assert (tmp_path / "flask_app.log").stat().st_size <= 2048
