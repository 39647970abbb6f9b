"""What every request passes through, in one WSGI middleware around the Flask app: the request
id, the clock shared by the metrics and the access line, the in-flight gauge, and the response
headers (the request id and the security headers, computed once per configuration:
`web_security.ResponseHeaders`), added to the header list as the answer starts.

Issue 18 asked that these cost "what a precomputed header list and one middleware cost, not a
chain of hooks": as Flask hooks they read `g`, `request` and `current_app` through their proxies
and set each header through a `Headers` object that checks every value; here they are plain
tuples and one `environ` (decisions 0122, 0138). A header another feature needs on every
response goes into `ResponseHeaders`, not into a hook beside it.

Code within the request reads its id with `logs.current_request_id()` and names its caller with
`logs.identify()`, both kept in `environ`, which the middleware still holds when it writes the
access line.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from flask import Flask

from observability import metrics
from observability.access_log import Access, log_access
from observability.logs import REQUEST_ID_KEY, USER_ID_KEY
from services import deferred
from web_security import ResponseHeaders

REQUEST_ID_HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"
# Werkzeug keeps the request object of an environ here (the router's match: the metrics' route).
REQUEST_KEY = "werkzeug.request"
# The route a shortcut answered (no Werkzeug request then), for the metrics.
SHORTCUT_ROUTE_KEY = "app.shortcut_route"
JSON_CONTENT_TYPE = ("Content-Type", "application/json")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def incoming_request_id(environ: Environ) -> str:
    """The caller's request id when it is a sane token, otherwise a fresh one."""
    candidate = environ.get(REQUEST_ID_ENVIRON, "")
    if SAFE_REQUEST_ID.fullmatch(candidate):
        return str(candidate)
    return new_request_id()


def new_request_id() -> str:
    """32 random hex digits, like `uuid4().hex`: a correlation id, not a secret, so from the
    process's Mersenne Twister (reseeded in each forked worker) instead of a `getrandom` call
    and a UUID object per request (6 % of a worker's time under load waited in `uuid4`)."""
    return f"{random.getrandbits(128):032x}"


class Shortcuts(Protocol):
    """Routes answered here, below Flask, when a request is their common case (decision 0144)."""

    def answer(self, environ: Environ) -> tuple[str, bytes] | None:
        """The route's template (as the metrics label it) and the JSON body of a 200 to
        `environ`; None when Flask is to answer it instead."""


class RequestEnvelope:
    """The WSGI middleware around `app.wsgi_app` (`register_request_envelope`)."""

    def __init__(self, app: Flask, wrapped: WSGIApp) -> None:
        self.wrapped = wrapped
        self.headers = ResponseHeaders(app.config)
        self.counted = bool(app.config["METRICS_ENABLED"])
        self.shortcut: Shortcuts | None = None  # set by blueprints.shortcuts

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = environ[REQUEST_ID_KEY] = incoming_request_id(environ)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # Flask starts the answer before it pops the request context: the request's own
            # log fields (and the tracing span) are still there for the access line.
            self.headers.add_to(headers, status, environ)
            headers.append((REQUEST_ID_HEADER, request_id))
            self.finish(environ, status, time.perf_counter() - started)
            return start_response(status, headers, exc_info)

        deferred.PROCESS.started()
        try:
            shortcut = self.shortcut
            if shortcut is not None and (answered := shortcut.answer(environ)) is not None:
                environ[SHORTCUT_ROUTE_KEY], body = answered
                start("200 OK", [JSON_CONTENT_TYPE, ("Content-Length", str(len(body)))])
                return [body]
            return self.wrapped(environ, start)
        finally:
            deferred.PROCESS.finished()

    def finish(self, environ: Environ, status: str, seconds: float) -> None:
        """Count and time the answered request, and write its access line."""
        shortcut_route = environ.get(SHORTCUT_ROUTE_KEY)
        answered = None if shortcut_route is not None else environ.get(REQUEST_KEY)
        code = int(status[:3]) if status[:3].isdigit() else 0
        if answered is not None:
            method, path = answered.method, answered.path
        else:
            method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        if self.counted:
            route = shortcut_route or metrics.route_label(answered)
            metrics.record(method, route, code, seconds)
        request_id, user_id = environ[REQUEST_ID_KEY], environ.get(USER_ID_KEY)
        log_access(Access(method, path, code, seconds * 1000, request_id, user_id))


def register_request_envelope(app: Flask) -> None:
    """Wrap the app in the middleware (before any proxy fix wraps it, so it sees the request as
    the proxies' headers describe it)."""
    envelope = app.extensions["request_envelope"] = RequestEnvelope(app, app.wsgi_app)
    app.wsgi_app = envelope  # type: ignore[method-assign]
