"""Logging set up once per application, request ids, and one access-log line per request."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"

access_logger = logging.getLogger("app.access")


_base_record_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Stamp every record with the current request's id (`-` outside a request)."""
    record = _base_record_factory(*args, **kwargs)
    record.request_id = g.get("request_id", "-") if has_request_context() else "-"
    return record


def configure_logging(app: Flask) -> None:
    """Send log lines to stdout at `LOG_LEVEL`, replacing any handler a previous app installed."""
    logging.setLogRecordFactory(_record_with_request_id)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_app_handler", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler._app_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    # Werkzeug's own access log would duplicate ours.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def incoming_request_id() -> str:
    """The caller's request id when it is a sane token, otherwise a fresh one."""
    candidate = request.headers.get(REQUEST_ID_HEADER, "")
    if SAFE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


def register_request_hooks(app: Flask) -> None:
    """Assign the request id, echo it back, and log the request when it completes."""

    @app.before_request
    def start_request() -> None:
        g.request_id = incoming_request_id()
        g.request_started = time.perf_counter()

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = g.get("request_id") or incoming_request_id()
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        duration_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        access_logger.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
        )
        return response
