"""Request ids, and one access-log line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

access_logger = logging.getLogger("app.access")


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
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 2),
            },
        )
        return response
