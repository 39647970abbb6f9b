"""What every request passes through, in one hook before it and one after it: the request id,
the timing shared by the metrics and the access-log line, and the response headers (the request
id and the security headers, computed once per configuration: `web_security.ResponseHeaders`).

One pair of hooks instead of a chain (request id, metrics timer, metrics record, security
headers: each reading `g`, `request` and `current_app` through their proxies again) is what
issue 18 asked of the request path; decision 0122 has the measurements. A hook another feature
needs on every response goes into `finish_request` here, not beside it.
"""

from __future__ import annotations

import random
import re
import time

from flask import Flask, Response, g, request

from observability import metrics
from observability.access_log import log_access
from web_security import ResponseHeaders

REQUEST_ID_HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"


def incoming_request_id() -> str:
    """The caller's request id when it is a sane token, otherwise a fresh one."""
    candidate = request.environ.get(REQUEST_ID_ENVIRON, "")
    if SAFE_REQUEST_ID.fullmatch(candidate):
        return str(candidate)
    return new_request_id()


def new_request_id() -> str:
    """32 random hex digits, like `uuid4().hex`: a correlation id, not a secret, so from the
    process's Mersenne Twister (reseeded in each forked worker) instead of a `getrandom` call
    and a UUID object per request (6 % of a worker's time under load waited in `uuid4`)."""
    return f"{random.getrandbits(128):032x}"


def register_request_hooks(app: Flask) -> None:
    """Assign the request id and start the clock; on the way out add the headers, count and
    time the request (when `METRICS_ENABLED`) and write its access-log line."""
    headers = ResponseHeaders(app.config)
    counted = bool(app.config["METRICS_ENABLED"])

    @app.before_request
    def start_request() -> None:
        g.request_id = incoming_request_id()
        g.request_started = time.perf_counter()
        if counted:
            metrics.IN_FLIGHT.inc()
            g.in_flight = True

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = g.get("request_id") or incoming_request_id()
        headers.add_to(response, request)
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        seconds = time.perf_counter() - started if started else 0.0
        if g.pop("in_flight", False):
            metrics.record(request, response.status_code, seconds)
        log_access(
            request.method,
            request.path,
            response.status_code,
            seconds * 1000,
            request_id,
            g.get("user_id"),
        )
        return response

    @app.teardown_request
    def release_in_flight(_exc: BaseException | None) -> None:
        # A response that never reached finish_request (an error in a hook) still leaves.
        if g.pop("in_flight", False):
            metrics.IN_FLIGHT.dec()
