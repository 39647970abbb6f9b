"""Liveness endpoints of the foundation."""

import re

import pytest

pytestmark = pytest.mark.integration

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def test_health_endpoint(client):
    """The seed's own test: /health answers healthy."""
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["status"] == "healthy"
    assert TIMESTAMP.match(response.json["timestamp"])


def test_api_health_answers_in_the_envelope(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json
    assert body["success"] is True
    assert body["data"] == {"status": "healthy"}
    assert body["message"] == "Operation completed successfully"
    assert TIMESTAMP.match(body["timestamp"])
