"""Cross-origin requests (contract §9), with Flask-CORS, on the token APIs only.

- `/api/v1/*`: the origins of `CORS_ORIGINS`, by exact name (none when empty), never `null`,
  never with credentials: the API authenticates by `Authorization: Bearer`, not by cookie.
- `/v1/*`: as the old Node.js service (the npm `cors()` defaults): any origin (`*`), the methods
  it served, whatever request headers the preflight names, no credentials; `LEGACY_CORS_ORIGINS`
  narrows it to a list of origins.
- Everything else (`/auth/*`, `/admin/*`, pages, `/health`, `/docs`) sends no CORS header: those
  routes authenticate by the session cookie, and no other site may read their answers.

Preflights are answered by Flask's automatic OPTIONS response (no view, no authentication runs)
and may be cached by the browser for `CORS_MAX_AGE` seconds. Flask-CORS adds one after-request
function that matches the path against the two prefixes; a request without `Origin` (every
non-browser client) gets no CORS header at all. Since the answer depends on `Origin` (present,
listed or not), every answer on a CORS path says `Vary: Origin`, one origin listed or several:
the request middleware adds it (`cors_paths`, web_security.ResponseHeaders), not Flask-CORS, which
sends it only when several origins could match. Why so: docs/decisions/0133-cors.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from re import Pattern
from typing import Any

from flask import Flask, request
from flask_cors import CORS

from extensions import narrow_after_request

API_PATHS = "/api/v1/"
LEGACY_PATHS = "/v1/"
API_RESOURCE = rf"{API_PATHS}.*"
LEGACY_RESOURCE = rf"{LEGACY_PATHS}.*"
# What a client of /api/v1 sends besides the CORS-safelisted headers.
API_REQUEST_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
# What a client may read besides the safelisted response headers: the request id to quote in a
# support request, and when to try again after 429.
EXPOSED_HEADERS = (
    "X-Request-ID",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
)
API_METHODS = ("GET", "HEAD", "POST", "PATCH", "DELETE")
# The npm `cors` package's default methods, which the old service sent.
LEGACY_METHODS = ("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE")


def listed(origins: str) -> list[str]:
    """The origins of a comma-separated setting (config.py has checked and lower-cased them)."""
    return [origin for origin in origins.split(",") if origin]


def resources(config: Mapping[str, Any]) -> dict[str | Pattern[str], dict[str, Any]]:
    """Flask-CORS's per-path options: /api/v1 for the listed origins, /v1 as configured."""
    common = {
        "supports_credentials": False,
        "max_age": config["CORS_MAX_AGE"],
        "expose_headers": list(EXPOSED_HEADERS),
    }
    legacy = config["LEGACY_CORS_ORIGINS"]
    chosen: dict[str | Pattern[str], dict[str, Any]] = {}
    if api_origins := listed(config["CORS_ORIGINS"]):
        chosen[API_RESOURCE] = {
            **common,
            "origins": api_origins,
            "methods": list(API_METHODS),
            "allow_headers": list(API_REQUEST_HEADERS),
        }
    if config["LEGACY_API_ENABLED"] and legacy:
        chosen[LEGACY_RESOURCE] = {
            **common,
            "origins": "*" if legacy == "*" else listed(legacy),
            "send_wildcard": legacy == "*",
            "methods": list(LEGACY_METHODS),
            "allow_headers": "*",  # the old service echoed the preflight's request headers
        }
    return chosen


def cors_paths(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The path prefixes whose answers depend on the request's `Origin` (empty: no CORS)."""
    chosen = resources(config)
    return tuple(
        prefix
        for prefix, resource in ((API_PATHS, API_RESOURCE), (LEGACY_PATHS, LEGACY_RESOURCE))
        if resource in chosen
    )


def register_cors(app: Flask) -> None:
    """Answer cross-origin requests on the token APIs; nothing when no origin is allowed."""
    if chosen := resources(app.config):
        # always_send=False: no header for requests without Origin (API clients, probes).
        # intercept_exceptions=False: error answers pass the after-request hooks already.
        # vary_header=False: `Vary: Origin` goes on every answer of these paths, by the hooks.
        registered = list(app.after_request_funcs.get(None, []))
        CORS(
            app,
            resources=chosen,
            always_send=False,
            intercept_exceptions=False,
            vary_header=False,
        )
        skip_without_origin(app, registered)


def skip_without_origin(app: Flask, registered: list[Callable[..., Any]]) -> None:
    """Run Flask-CORS's after-request function only for requests that carry `Origin`: without
    one (every API client but a browser) it adds nothing (`always_send=False`), after matching
    the path and reading the headers on every request (~1.5 % of a get-by-id). `registered`:
    the app's after-request functions before `CORS(app)`; the one not among them is Flask-CORS's."""
    narrow_after_request(
        app,
        lambda hook: hook not in registered,
        lambda: "HTTP_ORIGIN" in request.environ,
        "Flask-CORS",
    )
