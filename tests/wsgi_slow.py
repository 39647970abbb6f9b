"""A test-only WSGI module: the real application plus a slow route, for the gunicorn tests.

Never imported by the production app: `gunicorn tests.wsgi_slow:application`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import request

from app import create_app

application = create_app()
PAYLOAD = "x" * 200_000  # big enough that a cut-off response would be noticed


@application.get("/_test/slow")
def slow() -> dict[str, object]:
    """Announce the start (a marker file), sleep, then answer a large body."""
    marker_dir = os.environ.get("SLOW_MARKER_DIR")
    if marker_dir:
        Path(marker_dir, f"{os.getpid()}-{time.monotonic_ns()}").touch()
    time.sleep(float(request.args.get("seconds", "1")))
    return {"done": True, "pid": os.getpid(), "payload": PAYLOAD}
