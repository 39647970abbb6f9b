"""/metrics in one process: labels by route template, optional bearer token, switch."""

from __future__ import annotations

import threading
import time

import pytest
from prometheus_client import REGISTRY

from observability import metrics
from services import deferred
from tests.ops_support import throwaway_app

pytestmark = pytest.mark.integration


def count(route: str, status: str, method: str = "GET") -> float:
    """The count a scrape of this process would read (it writes the tallies first)."""
    metrics.TALLIES.flush()
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


def test_requests_are_counted_by_route_template_not_raw_path(client):
    before_known = count("/health/blueprints", "200")
    before_unknown = count(metrics.UNMATCHED_ROUTE, "404")
    client.get("/health/blueprints")
    client.get("/no/such/page-1")
    client.get("/no/such/page-2")
    assert count("/health/blueprints", "200") == before_known + 1
    assert count(metrics.UNMATCHED_ROUTE, "404") == before_unknown + 2


def test_metrics_answer_prometheus_text(client):
    client.get("/health")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    for name in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "http_requests_in_progress",
        "db_pool_connections_checked_out",
    ):
        assert name in text


def test_a_metrics_token_requires_the_bearer(database):
    with throwaway_app(database.url, METRICS_TOKEN="scrape-token-1") as application:
        client = application.test_client()
        assert client.get("/metrics").status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.get("/metrics", headers=wrong).status_code == 401
        right = {"Authorization": "Bearer scrape-token-1"}
        assert client.get("/metrics", headers=right).status_code == 200


def test_metrics_can_be_switched_off(database, monkeypatch):
    monkeypatch.setenv("METRICS_ENABLED", "false")
    with throwaway_app(database.url) as application:
        assert application.test_client().get("/metrics").status_code == 404


def pool_gauge() -> float | None:
    metrics.LIVE.sample()
    return REGISTRY.get_sample_value("db_pool_connections_checked_out")


def test_the_pool_gauge_follows_checkouts(app):
    from models import db

    with app.app_context():
        before = pool_gauge()
        with db.engine.connect():
            during = pool_gauge()
        after = pool_gauge()
    assert during == before + 1
    assert after == before


def test_the_live_gauges_are_written_each_second_not_when_the_process_falls_idle(app, monkeypatch):
    from models import db

    # This test is the clock: the process's ticker thread, started by an earlier request, must
    # not sample between the request's end and the check that nothing was written yet.
    run = deferred.Deferred.run

    def run_unless_ticking(self: deferred.Deferred, *, idle: bool = False) -> None:
        if threading.current_thread().name != "deferred-ticker":
            run(self, idle=idle)

    monkeypatch.setattr(deferred.Deferred, "run", run_unless_ticking)
    with app.app_context(), db.engine.connect():
        deferred.PROCESS.started()
        metrics.LIVE.sample()
        assert REGISTRY.get_sample_value("http_requests_in_progress") >= 1
        busy_pool = REGISTRY.get_sample_value("db_pool_connections_checked_out")
    deferred.PROCESS.finished()  # the last request in flight: nothing written yet (decision 0143)
    assert REGISTRY.get_sample_value("http_requests_in_progress") >= 1
    deferred.PROCESS.run()  # the next second's run
    assert REGISTRY.get_sample_value("http_requests_in_progress") == 0
    assert REGISTRY.get_sample_value("db_pool_connections_checked_out") == busy_pool - 1


def test_a_ticker_thread_keeps_a_busy_process_current(app, monkeypatch):
    monkeypatch.setattr(deferred.Deferred, "INTERVAL", 0.05)
    process = deferred.Deferred()
    monkeypatch.setattr(deferred, "PROCESS", process)
    process.every_second(metrics.LIVE.sample)
    process.started()  # starts this process's ticker
    metrics.IN_FLIGHT.set(-1)
    deadline = time.monotonic() + 5
    while REGISTRY.get_sample_value("http_requests_in_progress") != 1:
        assert time.monotonic() < deadline, "no sample within 5 s"
        time.sleep(0.02)
    process.finished()


def test_multiprocess_exposition_reads_the_shared_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert metrics.exposition() == b""


def test_a_failing_hook_still_releases_the_in_flight_gauge(database):
    with throwaway_app(database.url) as application:

        @application.before_request
        def explode() -> None:
            raise RuntimeError("boom")

        # Sampled here, not by whichever ticker an earlier test left running.
        metrics.LIVE.sample()
        before = REGISTRY.get_sample_value("http_requests_in_progress")
        application.config["PROPAGATE_EXCEPTIONS"] = False
        response = application.test_client().get("/health")
        assert response.status_code == 500
        metrics.LIVE.sample()
        assert REGISTRY.get_sample_value("http_requests_in_progress") == before
