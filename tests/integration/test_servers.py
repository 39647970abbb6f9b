"""The production servers, run for real: granian through serve.py (what the image runs) and
gunicorn with gunicorn.conf.py (the supported alternative). Graceful shutdown, metrics summed
across workers (without dead workers' live gauges), and connections after an unread body."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops_support import Server, granian_servers, gunicorn_servers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JSON_BODY = {"Content-Type": "application/json"}


SERVERS = {
    "granian": (granian_servers, "GRANIAN_WORKERS"),
    "gunicorn": (gunicorn_servers, "GUNICORN_WORKERS"),
}


@pytest.fixture(params=sorted(SERVERS))
def start_server(request, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start the server on a free 127.0.0.1 port with `workers` worker processes (and any other
    settings as variables); always stopped after."""
    servers, workers_variable = SERVERS[request.param]
    with servers(tmp_path) as start:

        def start_with(workers: int, **settings: str) -> Server:
            return start(**{workers_variable: str(workers)}, **settings)

        yield start_with


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


def test_sigterm_lets_in_flight_requests_finish_whole(start_server, tmp_path):
    # The default threads (4 per worker): five requests in flight on two workers.
    process, port = start_server(workers=2)
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


def pid_of_fresh_connection(port: int) -> int:
    """The worker that answered a request on a new connection (any worker may accept it)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/_test/slow?seconds=0", headers={"Connection": "close"})
        return int(json.loads(connection.getresponse().read())["pid"])
    finally:
        connection.close()


def test_metrics_add_up_across_workers(start_server):
    _, port = start_server(workers=2)
    pids = [pid_of_fresh_connection(port) for _ in range(40)]
    deadline = time.monotonic() + 20
    while len(set(pids)) < 2:  # the second worker may still be starting
        assert time.monotonic() < deadline, "one worker answered everything"
        pids.append(pid_of_fresh_connection(port))
    for _ in range(20):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5):
            pass
    slow_key = (("method", "GET"), ("route", "/_test/slow"), ("status", "200"))
    health_key = (("method", "GET"), ("route", "/api/v1/health"), ("status", "200"))
    deadline = time.monotonic() + 10
    while True:  # the worker that did not answer the scrape writes its values within a second
        samples = scrape(port)
        counts = [samples.get(("http_requests_total", key)) for key in (slow_key, health_key)]
        counts.append(samples.get(("http_requests_in_progress", ())))  # the scrape itself: 1
        if counts == [len(pids), 20, 1]:
            break
        assert time.monotonic() < deadline, counts
        time.sleep(0.2)
    assert samples[("http_requests_total", slow_key)] == len(pids)
    assert samples[("http_requests_total", health_key)] == 20
    assert samples[("http_request_duration_seconds_count", slow_key)] == len(pids)
    assert samples[("http_requests_in_progress", ())] == 1  # the scrape itself
    assert samples[("db_pool_connections_checked_out", ())] == 0


def get_expecting_a_reset(port: int, seconds: float) -> None:
    with contextlib.suppress(OSError, http.client.HTTPException):
        slow_get(port, seconds, [])


def test_a_killed_workers_live_gauges_leave_the_sums(start_server, tmp_path):
    """A worker killed mid-request wrote `http_requests_in_progress` 1 to its file; once it is
    gone, /metrics no longer adds it (granian has no hook for it: the scrape drops the files of
    workers that no longer exist)."""
    _, port = start_server(workers=2)
    doomed = threading.Thread(target=get_expecting_a_reset, args=(port, 60))
    doomed.start()
    wait_for_markers(tmp_path / "markers", 1)
    (marker,) = (tmp_path / "markers").iterdir()
    os.kill(int(marker.name.partition("-")[0]), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        # Until the respawned worker listens: a connection the kernel hands it while it is still
        # starting may be reset (seen about once in eight runs on Python 3.13), so the loop ends
        # only once the scrape is right and health answers three times in a row.
        with contextlib.suppress(OSError, http.client.HTTPException):
            if scrape(port)[("http_requests_in_progress", ())] == 1 and all(  # the scrape itself
                health_status(port) == 200 for _ in range(3)
            ):
                break
        assert time.monotonic() < deadline, "the dead worker's request still counts as in flight"
        time.sleep(0.2)
    doomed.join(10)


def health_status(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as response:
        return int(response.status)


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
def test_a_body_left_unread_never_poisons_a_keep_alive_connection(start_server, size):
    """A 413 answered without reading the body says `Connection: close` and closes cleanly
    (gunicorn drains only 64 KiB of it, then used to close a connection it had kept alive;
    granian honours the header)."""
    _, port = start_server(workers=1, MAX_CONTENT_LENGTH=str(100 * 1024))
    status, headers, after = oversized_login(port, size)
    assert status == 413
    assert headers["connection"] == "close"
    assert after == b"", "closed cleanly after the response (FIN, no more data)"


def test_a_small_request_keeps_its_connection(start_server):
    _, port = start_server(workers=1)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for attempt in range(2):
            connection.request("POST", "/api/v1/auth/login", body=b"{}", headers=JSON_BODY)
            if attempt == 0:
                first_socket = connection.sock
            response = connection.getresponse()
            response.read()
            assert response.status == 400
            assert response.getheader("Connection", "keep-alive") == "keep-alive"
        assert connection.sock is first_socket, "the second request reused the connection"
    finally:
        connection.close()


@pytest.mark.parametrize(
    "servers", [granian_servers, gunicorn_servers], ids=["granian", "gunicorn"]
)
def test_no_worker_outlives_its_server_in_the_tests(servers, tmp_path):
    """A server whose main process was killed outright leaves its workers behind as orphans; the
    test harness ends them with it (they piled up, port and memory held, over a suite run)."""
    with servers(tmp_path) as start:
        process, _ = start(GRANIAN_WORKERS="2", GUNICORN_WORKERS="2")
        listing = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        deadline = time.monotonic() + 15  # the first worker may answer before the second exists
        while len(children := listing.read_text().split()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(children) == 2
        process.kill()
        process.wait(5)
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
