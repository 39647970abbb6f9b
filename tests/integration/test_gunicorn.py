"""gunicorn.conf.py under real gunicorn: graceful shutdown and metrics summed across workers."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops_support import (
    ROOT,
    Server,
    free_port,
    gunicorn_servers,
    stop_process,
    subprocess_env,
    wait_for_http,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JSON_BODY = {"Content-Type": "application/json"}


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


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body, read off a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (x.split(":", 1) for x in lines)}
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return int(status_line.split()[1]), headers, body


def send_ignoring_errors(sock: socket.socket, data: bytes) -> None:
    """A client that keeps sending while the server answers early (and then resets the rest)."""
    with contextlib.suppress(OSError):
        sock.sendall(data)


def oversized_login(port: int, size: int) -> tuple[int, dict[str, str], bytes]:
    """POST a `size`-byte JSON body on a keep-alive connection: the status and headers of the
    answer, and what the socket yields after it (b"" once the server has closed it)."""
    body = json.dumps({"email": "a" * size}).encode()
    head = (
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sender = threading.Thread(target=send_ignoring_errors, args=(sock, head + body))
        sender.start()
        status, headers, _ = read_response(sock)
        after = sock.recv(65536)
        sender.join(10)
    return status, headers, after


@pytest.mark.parametrize("size", [2 * 1024 * 1024, 200 * 1024])
def test_a_body_left_unread_never_poisons_a_keep_alive_connection(start_gunicorn, size):
    """A 413 answered without reading the body says `Connection: close` and closes cleanly
    (gunicorn drains only 64 KiB of it, then used to close a connection it had kept alive)."""
    _, port = start_gunicorn(GUNICORN_WORKERS="1", MAX_CONTENT_LENGTH=str(100 * 1024))
    status, headers, after = oversized_login(port, size)
    assert status == 413
    assert headers["connection"] == "close"
    assert after == b"", "closed cleanly after the response (FIN, no more data)"


def test_granian_closes_after_a_body_left_unread(tmp_path):
    """The alternative server of docs/performance.md does the same by itself."""
    port = free_port()
    env = subprocess_env(
        FLASK_CONFIG="testing",
        TEST_DATABASE_URL=f"sqlite:///{tmp_path / 'granian.db'}",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
    )
    command = [sys.executable, "-m", "granian", "--interface", "wsgi", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", "1", "tests.wsgi_slow:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", process=process)
        status, headers, after = oversized_login(port, 2 * 1024 * 1024)
    finally:
        stop_process(process)
    assert status == 413
    assert headers["connection"] == "close"
    assert after == b""


def test_a_small_request_keeps_its_connection(start_gunicorn):
    _, port = start_gunicorn(GUNICORN_WORKERS="1")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for _ in range(2):
            connection.request("POST", "/api/v1/auth/login", body=b"{}", headers=JSON_BODY)
            response = connection.getresponse()
            response.read()
            assert response.status == 400
            assert response.getheader("Connection") == "keep-alive"
    finally:
        connection.close()
