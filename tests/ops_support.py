"""Helpers for the operations tests: throwaway apps that clean up, free ports, subprocesses."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.apps import dispose_engines, make_app

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def throwaway_app(database_url: str, **overrides: object) -> Iterator[Flask]:
    """A testing app whose engine is disposed afterwards (no connection left open)."""
    application = make_app(database_url, **overrides)
    try:
        yield application
    finally:
        dispose_engines(application)


def wait_for_http(
    url: str, *, timeout: float = 20.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll `url` until it answers (any status), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"server exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback test server
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {timeout}s")


def subprocess_env(**extra: str) -> dict[str, str]:
    """The current environment minus the test-session settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_CORE"))}
    env.pop("TEST_DATABASE_URL", None)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env.update(extra)
    return env


# Servers started by `start_server`: each leads a session of its own, with its workers.
SESSION_LEADERS: set[int] = set()


def start_server(command: list[str], **popen: object) -> subprocess.Popen[bytes]:
    """A server process leading its own session, so that `stop_process` also ends the workers it
    forked: a worker whose main process died (killed, or refused to stop) must not outlive its
    test as an orphan holding memory and a port."""
    process: subprocess.Popen[bytes] = subprocess.Popen(command, start_new_session=True, **popen)
    SESSION_LEADERS.add(process.pid)
    return process


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time (always called in teardown); for a
    server from `start_server`, whatever is left of its session is killed too."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    if process.pid in SESSION_LEADERS:
        SESSION_LEADERS.discard(process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


Server = tuple[subprocess.Popen[bytes], int]


@contextlib.contextmanager
def wsgi_servers(
    tmp_path: Path, command: list[str], bind: Callable[[int], dict[str, str]]
) -> Iterator[Callable[..., Server]]:
    """A starter of servers running `command` + the tests.wsgi_slow app on a free port (`bind`
    gives the variables that choose it), testing config on a SQLite file unless
    `TEST_DATABASE_URL` is given; all stopped afterwards."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(**settings: str) -> Server:
        port = free_port()
        defaults = {
            "FLASK_CONFIG": "testing",
            "TEST_DATABASE_URL": f"sqlite:///{tmp_path / 'server.db'}",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
            "SLOW_MARKER_DIR": str(tmp_path / "markers"),
            **bind(port),
        }
        env = subprocess_env(**(defaults | settings))
        (tmp_path / "markers").mkdir(exist_ok=True)
        with (tmp_path / "server.err").open("ab") as errors:
            process = start_server(
                [*command, "tests.wsgi_slow:application"],
                cwd=ROOT,
                env=env,
                stdout=errors,
                stderr=errors,
            )
        processes.append(process)
        wait_for_http(f"http://127.0.0.1:{port}/health", process=process)
        return process, port

    try:
        yield start
    finally:
        for process in processes:
            stop_process(process)


def gunicorn_servers(tmp_path: Path) -> contextlib.AbstractContextManager[Callable[..., Server]]:
    """gunicorn with the production gunicorn.conf.py (see wsgi_servers)."""
    return wsgi_servers(
        tmp_path,
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
        lambda port: {"GUNICORN_BIND": f"127.0.0.1:{port}"},
    )


def granian_servers(tmp_path: Path) -> contextlib.AbstractContextManager[Callable[..., Server]]:
    """granian through the production launcher serve.py (see wsgi_servers)."""
    return wsgi_servers(
        tmp_path,
        [sys.executable, "serve.py"],
        lambda port: {"GRANIAN_HOST": "127.0.0.1", "PORT": str(port)},
    )


def terminate_backend(pid: int) -> None:
    """End PostgreSQL backend `pid` and wait until it is gone (inside an app context). The wait
    runs in autocommit: a transaction would keep reading the first snapshot of
    `pg_stat_activity`, where a backend still exiting stays forever."""
    from sqlalchemy import text

    from models import db

    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        deadline = time.monotonic() + 5
        alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
        while connection.execute(alive, {"pid": pid}).scalar():
            assert time.monotonic() < deadline, "the backend did not end"
            time.sleep(0.05)
