"""Running the application in separate server processes, as replicas or workers would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tests.ops_support import ROOT, free_port, stop_process, subprocess_env, wait_for_http

SERVER = (
    "import os; from werkzeug.serving import run_simple; from app import create_app; "
    "run_simple('127.0.0.1', int(os.environ['PORT']), create_app('testing'), threaded=True)"
)


@contextmanager
def app_server(database_url: str, **settings: str) -> Iterator[str]:
    """Serve the testing app (threaded Werkzeug) in a child process; yields its base URL."""
    port = free_port()
    env = subprocess_env(
        **settings, PORT=str(port), TEST_DATABASE_URL=database_url, FLASK_CONFIG="testing"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)
