"""Micro-benchmarks of the hot functions (`make bench-micro`; deselected from `make test`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from pydantic import TypeAdapter

from blueprints.endpoint import serialize
from observability import logs
from schemas.user import UserPage, UserRead
from services import token_service

pytestmark = pytest.mark.performance

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ROW = {
    "id": 7,
    "email": "user7@example.com",
    "name": "User Seven",
    "role": "user",
    "is_active": True,
    "email_verified": True,
    "created_at": NOW,
    "updated_at": NOW,
    "last_login_at": None,
    "locale": None,
}


def test_access_token_encode(benchmark, app):
    with app.app_context():
        benchmark(token_service.encode_access_token, user_id=7, session_id="s" * 32)


def test_access_token_verify_remembered(benchmark, app):
    """What every request after a token's first one pays (the verified token is remembered)."""
    with app.app_context():
        token = token_service.encode_access_token(user_id=7, session_id="s" * 32)
        claims = benchmark(token_service.decode_access_token, token)
    assert claims.user_id == 7


def test_access_token_verify_first_use(benchmark, app):
    """PyJWT's full verification, paid once per token and worker."""
    verify = token_service._verified_access_claims.__wrapped__
    config = app.config
    with app.app_context():
        token = token_service.encode_access_token(user_id=7, session_id="s" * 32)
    keys = (config["JWT_SECRET_KEY"], config["JWT_AUDIENCE"], config["JWT_ISSUER"])
    claims = benchmark(verify, token, *keys)
    assert claims.user_id == 7


def test_user_serialization(benchmark):
    adapter = TypeAdapter(UserRead)
    data = benchmark(serialize, adapter, ROW)
    assert data["created_at"] == "2026-01-01T00:00:00Z"


def test_user_page_serialization(benchmark):
    adapter = TypeAdapter(UserPage)
    page = {"items": [ROW] * 20, "pagination": {"page": 1, "per_page": 20, "total": 20, "pages": 1}}
    benchmark(serialize, adapter, page)


def test_password_verify_production_cost(benchmark):
    hasher = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)
    hashed = hasher.hash("plausible-Kettle-47-Orbit")
    assert benchmark.pedantic(hasher.verify, args=(hashed, "plausible-Kettle-47-Orbit"), rounds=5)


def _make_record() -> logging.LogRecord:
    return logging.getLogRecordFactory()("app.access", logging.INFO, __file__, 1, "m", (), None)


def test_log_record_tracing_off(benchmark, app):
    """With tracing off, the one line tracing adds to a request: an `is None` test per record.

    Tracing off installs nothing else (tests/integration/test_tracing.py proves it), so this and
    `make bench` are the whole cost; compare with test_log_record_tracing_on."""
    logs.use_span_ids(None)
    record = benchmark(_make_record)
    assert not hasattr(record, "trace_id")


def test_log_record_tracing_on(benchmark, app):
    """With tracing on and a span active, each record also reads the span's ids."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from observability.tracing import _span_ids_reader

    logs.use_span_ids(_span_ids_reader())
    try:
        with TracerProvider().get_tracer(__name__).start_as_current_span("request"):
            record = benchmark(_make_record)
    finally:
        logs.use_span_ids(None)
    assert len(record.trace_id) == 32
    assert trace.get_current_span() is trace.INVALID_SPAN
