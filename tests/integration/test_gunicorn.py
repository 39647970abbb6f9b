"""gunicorn.conf.py under real gunicorn: graceful shutdown and metrics summed across workers."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops_support import Server, gunicorn_servers

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def start_gunicorn(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start gunicorn with gunicorn.conf.py on a free 127.0.0.1 port; always stopped after."""
    with gunicorn_servers(tmp_path) as start:
        yield start


def slow_get(port: int, seconds: float, results: list[tuple[int, bytes, int | None]]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", f"/_test/slow?seconds={seconds}")
        response = connection.getresponse()
        length = response.getheader("Content-Length")
        results.append((response.status, response.read(), int(length) if length else None))
    finally:
        connection.close()


def run_concurrently(port: int, count: int, seconds: float) -> tuple[list[threading.Thread], list]:
    results: list[tuple[int, bytes, int | None]] = []
    threads = [
        threading.Thread(target=slow_get, args=(port, seconds, results)) for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    return threads, results


def wait_for_markers(directory: Path, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while len(list(directory.iterdir())) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"only {len(list(directory.iterdir()))} of {count} requests started")
        time.sleep(0.05)


def test_sigterm_lets_in_flight_requests_finish_whole(start_gunicorn, tmp_path):
    # The default workers (gthread, 4 threads): five requests in flight on two workers.
    process, port = start_gunicorn(GUNICORN_WORKERS="2")
    threads, results = run_concurrently(port, count=5, seconds=2)
    wait_for_markers(tmp_path / "markers", 5)
    process.terminate()  # SIGTERM while all five are in flight
    for thread in threads:
        thread.join(30)
    assert process.wait(30) == 0
    assert len(results) == 5
    for status, body, length in results:
        assert status == 200
        assert length == len(body)
        assert json.loads(body)["done"] is True
    with pytest.raises(OSError, match="refused"):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_add_up_across_gunicorn_workers(start_gunicorn):
    _, port = start_gunicorn(
        GUNICORN_WORKERS="3", GUNICORN_WORKER_CLASS="sync", GUNICORN_THREADS="1"
    )
    threads, results = run_concurrently(port, count=3, seconds=1)
    for thread in threads:
        thread.join(30)
    pids = {json.loads(body)["pid"] for _, body, _ in results}
    assert len(pids) == 3  # three sync workers, each busy with one request
    for _ in range(20):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5):
            pass
    samples = scrape(port)
    slow_key = (("method", "GET"), ("route", "/_test/slow"), ("status", "200"))
    health_key = (("method", "GET"), ("route", "/api/v1/health"), ("status", "200"))
    assert samples[("http_requests_total", slow_key)] == 3
    assert samples[("http_requests_total", health_key)] == 20
    assert samples[("http_request_duration_seconds_count", slow_key)] == 3
    assert samples[("http_request_duration_seconds_sum", slow_key)] >= 3
    assert samples[("http_requests_in_progress", ())] == 1  # the scrape itself
    assert samples[("db_pool_connections_checked_out", ())] == 0
