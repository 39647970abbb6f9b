"""The probes of contract §6: readiness, database, detailed (cache optional), blueprints, status."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from models import db
from services import health_service
from tests.apps import make_app
from tests.ops_support import free_port, throwaway_app

pytestmark = pytest.mark.integration

REDIS_TEST_URL = "redis://127.0.0.1:6379/5"


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A TCP port that accepts connections and never answers: a hung database."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def test_readiness_is_200_when_the_schema_is_at_the_newest_migration(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "healthy"
    assert body["checks"]["database"]["status"] == "healthy"
    migrations = body["checks"]["migrations"]
    assert migrations["status"] == "healthy"
    assert migrations["current"] == migrations["head"] != []


def test_readiness_is_503_when_the_database_is_behind_the_newest_migration(app, client):
    with app.app_context(), db.engine.begin() as connection:
        (current,) = connection.execute(text("SELECT version_num FROM alembic_version")).one()
        connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    try:
        response = client.get("/health/ready")
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
    assert response.status_code == 503
    assert response.json["status"] == "unhealthy"
    assert response.json["checks"]["migrations"]["error"] == "not_at_head"
    assert response.json["checks"]["migrations"]["current"] == ["older"]


def test_readiness_is_503_on_a_database_never_migrated(tmp_path):
    with throwaway_app(f"sqlite:///{tmp_path / 'empty.db'}") as fresh:
        response = fresh.test_client().get("/health/ready")
    assert response.status_code == 503
    assert response.json["checks"]["migrations"]["error"] == "not_migrated"


def test_the_migration_head_is_read_once_per_process(app):
    directory = app.extensions["migrate"].directory
    health_service.migration_heads(directory)
    hits = health_service.migration_heads.cache_info().hits
    health_service.migration_heads(directory)
    assert health_service.migration_heads.cache_info().hits == hits + 1


def test_database_probe_reports_latency(client):
    response = client.get("/health/database")
    assert response.status_code == 200
    assert response.json["status"] == "healthy"
    assert isinstance(response.json["latency_ms"], int | float)


def test_detailed_without_redis_reports_the_cache_disabled_and_stays_healthy(app, client):
    assert not app.config["REDIS_URL"]
    response = client.get("/health/detailed")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "healthy"
    assert body["checks"]["cache"] == {"status": "disabled", "configured": False}
    assert body["checks"]["database"]["status"] == "healthy"
    assert body["version"] == app.config["APP_VERSION"]
    assert body["uptime_seconds"] >= 0


def test_detailed_with_redis_up_is_healthy(database):
    with throwaway_app(database.url, REDIS_URL=REDIS_TEST_URL) as application:
        response = application.test_client().get("/health/detailed")
    assert response.status_code == 200
    assert response.json["status"] == "healthy"
    assert response.json["checks"]["cache"]["status"] == "healthy"


def test_detailed_with_redis_down_is_degraded_not_unhealthy(database):
    down_url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/5"
    with throwaway_app(
        database.url, REDIS_URL=down_url, HEALTH_CHECK_TIMEOUT_SECONDS=1
    ) as application:
        response = application.test_client().get("/health/detailed")
    assert response.status_code == 200
    assert response.json["status"] == "degraded"
    assert response.json["checks"]["cache"]["status"] == "unhealthy"
    assert "hunter2" not in response.get_data(as_text=True)


def test_an_unreachable_database_is_503_without_revealing_the_url():
    url = f"postgresql://admin:s3cr3t-pw@127.0.0.1:{free_port()}/prod"
    application = make_app(url, HEALTH_CHECK_TIMEOUT_SECONDS=2)
    client = application.test_client()
    for path in ("/health/database", "/health/ready", "/health/detailed"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.json["status"] == "unhealthy"
        text_body = response.get_data(as_text=True)
        assert "s3cr3t" not in text_body
        assert "127.0.0.1" not in text_body
        assert "admin" not in text_body
    assert client.get("/health").status_code == 200


def test_a_hung_database_cannot_hang_the_probe(black_hole):
    url = f"postgresql://postgres@127.0.0.1:{black_hole}/hung"
    application = make_app(url, HEALTH_CHECK_TIMEOUT_SECONDS=1)
    started = time.monotonic()
    response = application.test_client().get("/health/database")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json["error"] == "timeout"
    assert elapsed < 2.5


def test_a_hung_query_is_cut_off_by_the_timeout(app, monkeypatch):
    def hang(*_args, **_kwargs):
        time.sleep(3)

    monkeypatch.setattr(health_service, "_query_database", hang)
    app.config["HEALTH_CHECK_TIMEOUT_SECONDS"] = 1
    try:
        started = time.monotonic()
        response = app.test_client().get("/health/database")
    finally:
        app.config["HEALTH_CHECK_TIMEOUT_SECONDS"] = 2
    assert response.status_code == 503
    assert time.monotonic() - started < 2


@pytest.mark.postgres_only
def test_statement_timeout_bounds_a_slow_query_on_postgresql(app, is_postgres):
    if not is_postgres:
        pytest.skip("PostgreSQL only")
    with app.app_context():
        engine = db.engine
    with engine.connect() as connection:
        connection.execute(text("SET LOCAL statement_timeout = 100"))
        with pytest.raises(Exception, match="statement timeout"):
            connection.execute(text("SELECT pg_sleep(2)"))


def test_blueprints_lists_every_mounted_blueprint_with_routes(client):
    response = client.get("/health/blueprints")
    assert response.status_code == 200
    assert response.json["status"] == "healthy"
    by_name = {entry["name"]: entry for entry in response.json["blueprints"]}
    assert {"health", "api", "auth", "main"} <= set(by_name)
    assert by_name["health"]["url_prefix"] == "/health"
    assert "/health/ready" in by_name["health"]["routes"]
    assert "/api/v1/status" in by_name["api"]["routes"]


def test_api_status_answers_name_version_environment_and_uptime(app, client):
    response = client.get("/api/v1/status")
    assert response.status_code == 200
    data = response.json["data"]
    assert response.json["success"] is True
    assert data["name"] == app.config["APP_NAME"]
    assert data["version"] == app.config["APP_VERSION"]
    assert data["environment"] == "testing"
    assert data["started_at"].endswith("Z")
    assert data["uptime_seconds"] >= 0


def test_run_bounded_reraises_the_checks_own_error():
    def boom() -> None:
        raise ValueError("x")

    with pytest.raises(ValueError, match="x"):
        health_service.run_bounded(boom, 1)
