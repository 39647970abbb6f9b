"""X-Request-ID on every response, and in the log lines of that request."""

import logging

import pytest

pytestmark = pytest.mark.integration


def test_a_fresh_request_id_is_assigned(client):
    response = client.get("/health")
    assert len(response.headers["X-Request-ID"]) == 32


def test_a_sane_caller_request_id_is_echoed(client):
    response = client.get("/health", headers={"X-Request-ID": "abc.DEF_123-x"})
    assert response.headers["X-Request-ID"] == "abc.DEF_123-x"


@pytest.mark.parametrize(
    "unsafe",
    ["x" * 129, "has space", "semi;colon", "ümlaut", "new\tline"],
    ids=["too-long", "space", "semicolon", "non-ascii", "tab"],
)
def test_an_unsafe_caller_request_id_is_replaced(client, unsafe):
    response = client.get("/health", headers={"X-Request-ID": unsafe})
    assert response.headers["X-Request-ID"] != unsafe
    assert len(response.headers["X-Request-ID"]) == 32


def test_errors_carry_the_request_id_too(client):
    response = client.get("/api/v1/nope", headers={"X-Request-ID": "trace-404"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "trace-404"


def test_one_access_line_per_request_with_id_method_path_status_duration(app, client, caplog):
    with caplog.at_level(logging.INFO, logger="app.access"):
        client.get("/api/v1/nope", headers={"X-Request-ID": "trace-log"})
    lines = [r for r in caplog.records if r.name == "app.access"]
    assert len(lines) == 1
    record = lines[0]
    assert record.request_id == "trace-log"
    message = record.getMessage()
    assert message.startswith("GET /api/v1/nope 404 ")
    assert message.endswith("ms")
