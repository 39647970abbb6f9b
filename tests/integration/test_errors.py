"""Every failure answers the contract's error envelope (JSON) or an error page (HTML)."""

import logging

import pytest
from flask import request
from sqlalchemy.exc import OperationalError

from errors import Conflict, ValidationError
from tests.apps import make_app

pytestmark = pytest.mark.integration


def assert_error(response, status, code):
    assert response.status_code == status
    body = response.json
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    assert body["timestamp"].endswith("Z")
    return body


@pytest.fixture
def probe_app(database):
    """An app with extra routes that exercise the error paths a real route can hit."""
    application = make_app(database.url, MAX_CONTENT_LENGTH=300_000)

    @application.post("/api/v1/_probe/echo")
    def echo():
        return {"received": request.get_json()}

    @application.get("/api/v1/_probe/crash")
    def crash():
        raise RuntimeError("secret detail /srv/app/models.py SELECT * FROM users")

    @application.get("/api/v1/_probe/db-down")
    def db_down():
        raise OperationalError("SELECT 1", {}, Exception("connection refused to 10.0.0.5"))

    @application.get("/api/v1/_probe/conflict")
    def conflict():
        raise Conflict("Email already registered")

    @application.get("/api/v1/_probe/invalid")
    def invalid():
        raise ValidationError(
            [
                {"field": "email", "error": "Invalid email format"},
                {"field": "name", "error": "Required"},
            ]
        )

    @application.get("/_probe/crash")
    def crash_page():
        raise RuntimeError("boom")

    return application


@pytest.fixture
def probe(probe_app):
    return probe_app.test_client()


def test_unknown_api_path_is_a_json_404(client):
    assert_error(client.get("/api/v1/nope"), 404, "NOT_FOUND")


def test_unknown_api_path_is_json_even_when_html_is_preferred(client):
    response = client.get("/api/v1/nope", headers={"Accept": "text/html"})
    assert_error(response, 404, "NOT_FOUND")


def test_unknown_page_renders_the_html_error_page(client):
    response = client.get("/nope", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b'<p class="error-status">404</p>' in response.data
    assert b"<h1>Page not found</h1>" in response.data


def test_unknown_page_answers_json_to_json_clients(client):
    response = client.get("/nope", headers={"Accept": "application/json"})
    assert_error(response, 404, "NOT_FOUND")


def test_wrong_method_is_405_with_allow_header(client):
    response = client.delete("/api/v1/health")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


def test_body_over_the_limit_is_413(probe):
    response = probe.post("/api/v1/_probe/echo", json={"padding": "x" * 400_000})
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert response.headers["Connection"] == "close"  # the unread body ends the connection


def test_non_json_body_is_415(probe):
    response = probe.post("/api/v1/_probe/echo", data="a=1", content_type="text/plain")
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_form_body_is_415(probe):
    response = probe.post("/api/v1/_probe/echo", data={"a": "1"})
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    "raw",
    ['{"a": ', "not json", '{"a": NaN}', '{"a": Infinity}', "[" * 100_000 + "]" * 100_000],
    ids=["truncated", "garbage", "nan", "infinity", "deeply-nested"],
)
def test_unparseable_json_is_400_bad_request(probe, raw):
    response = probe.post("/api/v1/_probe/echo", data=raw, content_type="application/json")
    assert_error(response, 400, "BAD_REQUEST")


def test_valid_json_reaches_the_route(probe):
    response = probe.post("/api/v1/_probe/echo", json={"a": 1})
    assert response.status_code == 200
    assert response.json == {"received": {"a": 1}}


def test_unhandled_exception_is_500_without_internals(probe, caplog):
    with caplog.at_level(logging.ERROR):
        response = probe.get("/api/v1/_probe/crash")
    body = assert_error(response, 500, "INTERNAL_ERROR")
    text = response.get_data(as_text=True)
    for leak in ("secret detail", "/srv/app", "SELECT", "Traceback", "RuntimeError"):
        assert leak not in text
    assert body["error"]["details"] == {}
    assert any(record.exc_info for record in caplog.records), "the trace goes to the log"


def test_unhandled_exception_on_a_page_renders_the_500_page(probe):
    response = probe.get("/_probe/crash", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert b'<p class="error-status">500</p>' in response.data
    assert b"boom" not in response.data


def test_database_outage_is_503_without_connection_details(probe):
    response = probe.get("/api/v1/_probe/db-down")
    assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert "10.0.0.5" not in response.get_data(as_text=True)


def test_domain_conflict_is_409(probe):
    body = assert_error(probe.get("/api/v1/_probe/conflict"), 409, "CONFLICT")
    assert body["error"]["message"] == "Email already registered"


def test_validation_error_lists_every_field_and_repeats_the_first(probe):
    body = assert_error(probe.get("/api/v1/_probe/invalid"), 400, "VALIDATION_ERROR")
    details = body["error"]["details"]
    assert details["field"] == "email"
    assert details["error"] == "Invalid email format"
    assert [e["field"] for e in details["errors"]] == ["email", "name"]
