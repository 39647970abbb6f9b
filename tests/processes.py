"""Running the application in separate server processes, as replicas or workers would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SERVER = (
    "import os; from werkzeug.serving import run_simple; from app import create_app; "
    "run_simple('127.0.0.1', int(os.environ['PORT']), create_app('testing'), threaded=True)"
)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def app_server(database_url: str, **settings: str) -> Iterator[str]:
    """Serve the testing app in a child process; yields its base URL."""
    port = free_port()
    env = {**os.environ, **settings, "PORT": str(port), "TEST_DATABASE_URL": database_url}
    env["FLASK_CONFIG"] = "testing"
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base_url}/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the app server did not start") from None
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)
