"""Transport and browser hardening for every response: trusted hosts (`TRUSTED_HOSTS`), relative
routing redirects, HTTPS redirect and HSTS (`FORCE_HTTPS`), Content-Security-Policy, nosniff,
framing and referrer rules, trusted proxy headers, and the CSRF check (its rule lives in
blueprints/security.py). Why a hook, not Flask-Talisman:
docs/decisions/0020-security-headers-hook.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from flask import Flask, current_app, jsonify, redirect, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Request
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response as BaseResponse

from blueprints.security import enforce_csrf
from envelope import error_body
from errors import BadRequest
from services import auth0_service
from web_cors import cors_paths

# No inline script or style anywhere (the /docs page loads Swagger UI from files too); images may
# be data: URIs (Swagger UI's icons). Forms post only here; no site may frame these pages.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
UNTRUSTED_HOST_MESSAGE = "This server does not answer for that host name (TRUSTED_HOSTS)"
# Characters a path segment keeps unescaped in a Location (as Werkzeug's router quotes them).
PATH_SAFE = "!$&'()*+,/:;=@"
PAYLOAD_TOO_LARGE = "413"
SECURE_SCHEMES = ("https", "wss")
# Load balancers probe health over plain HTTP; redirecting them would mark the app down.
HTTPS_EXEMPT_PREFIX = "/health"
PROXY_SETTINGS = {
    "x_for": "PROXY_FIX_X_FOR",
    "x_proto": "PROXY_FIX_X_PROTO",
    "x_host": "PROXY_FIX_X_HOST",
    "x_port": "PROXY_FIX_X_PORT",
    "x_prefix": "PROXY_FIX_X_PREFIX",
}


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without building the signer for a request that carries no
    session cookie (every API call with a Bearer token): ~5 % of a cached read's time."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # No Cookie header at all (every API call with a Bearer token): nothing to parse.
        if app.secret_key and (
            "HTTP_COOKIE" not in request.environ
            or not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: BaseResponse) -> None:
        # An empty session nobody changed sets no cookie: answer as Flask's own method would,
        # without first resolving the seven cookie settings it reads before that test.
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)  # type: ignore[arg-type]


def register_security(app: Flask) -> None:
    """Trust the configured proxies, check the host, redirect to HTTPS, check CSRF and add the
    headers."""
    app.session_interface = CookieSessionInterface()
    hops = {argument: app.config[name] for argument, name in PROXY_SETTINGS.items()}
    if any(hops.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **hops)  # type: ignore[method-assign]
    app.before_request(guard_request)
    # The headers are added by the request middleware as each answer starts (ResponseHeaders).


def guard_request() -> BaseResponse | None:
    """Before each request, in one hook: refuse an untrusted host, answer the router's redirects
    and the HTTPS redirect, and check CSRF (each stops the request when it answers)."""
    answered = check_host_and_routing_redirect() or redirect_to_https()
    if answered is not None:
        return answered
    enforce_csrf()
    return None


def check_host_and_routing_redirect() -> BaseResponse | None:
    """Refuse a Host outside `TRUSTED_HOSTS` before any later hook answers, and send the router's
    own redirects (`/auth//login` to `/auth/login`) with a relative Location: Werkzeug builds
    them from the Host header, which the client chooses."""
    failure = request.routing_exception
    if isinstance(failure, SecurityError):
        # Always JSON: without a URL adapter no page (it links its styles) can be rendered.
        refused = jsonify(error_body(BadRequest.code, UNTRUSTED_HOST_MESSAGE))
        refused.status_code = BadRequest.status
        return refused
    if isinstance(failure, RequestRedirect):
        target = urlsplit(failure.new_url)
        path = "/" + target.path.lstrip("/")  # never `//host`, a scheme-relative URL
        return redirect(urlunsplit(("", "", path, target.query, "")), failure.code)
    return None


def redirect_to_https() -> BaseResponse | None:
    """With `FORCE_HTTPS`, send plain-HTTP requests to the same path over HTTPS, on the host of
    `PUBLIC_BASE_URL` (never the request's Host header)."""
    if not current_app.config["FORCE_HTTPS"] or request.is_secure:
        return None
    if request.path.startswith(HTTPS_EXEMPT_PREFIX):
        return None
    public = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    path = public.path + quote(request.path, safe=PATH_SAFE)
    query = request.query_string.decode("latin-1")
    secure_url = urlunsplit(("https", public.netloc, path, query, ""))
    # 308 keeps the method and body of a POST; GET and HEAD get the classic permanent redirect.
    return redirect(secure_url, 301 if request.method in ("GET", "HEAD") else 308)


def content_security_policy(config: Mapping[str, Any]) -> str:
    """The policy under `config`; with "Sign in with Auth0", sign-out forms may also lead to the
    tenant (its logout URL is where the logout POST redirects, and browsers apply form-action to
    redirects)."""
    if not auth0_service.browser_enabled(config):
        return CONTENT_SECURITY_POLICY
    parts = urlsplit(config["AUTH0_ISSUER_BASE_URL"])
    return CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
    )


class ResponseHeaders:
    """The hardening headers of every answer (a view may set a stricter one itself), added to the
    answer's header list as it starts (`observability/request_context.RequestEnvelope`). The ones
    that are the same on every answer are built once per configuration (the policy changes only
    with the Auth0 settings), not set one by one through a `Headers` object on each response."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self._defaults: dict[tuple[bool, object], tuple[tuple[str, str, str], ...]] = {}
        # Fixed with the app, like Flask-CORS's resources (web_cors.register_cors).
        self._cors_paths = cors_paths(config)

    def defaults(self) -> tuple[tuple[str, str, str], ...]:
        """(lower-case name, name, value) of the headers every answer carries unless set."""
        key = (auth0_service.browser_enabled(self.config), self.config.get("AUTH0_ISSUER_BASE_URL"))
        found = self._defaults.get(key)
        if found is None:
            policy = content_security_policy(self.config)
            headers = {"Content-Security-Policy": policy, **STATIC_HEADERS}
            found = tuple((name.lower(), name, value) for name, value in headers.items())
            self._defaults[key] = found
        return found

    def add_to(
        self, headers: list[tuple[str, str]], status: str, environ: Mapping[str, Any]
    ) -> None:
        """Add the headers to `headers`, those of an answer with `status` to `environ`'s request."""
        present = {name.lower() for name, _ in headers}
        headers.extend(
            (name, value) for lower, name, value in self.defaults() if lower not in present
        )
        config = self.config
        path = environ.get("PATH_INFO", "")
        if config["FORCE_HTTPS"] and environ.get("wsgi.url_scheme") in SECURE_SCHEMES:
            max_age = config["HSTS_MAX_AGE"]
            replace(headers, "Strict-Transport-Security", f"max-age={max_age}; includeSubDomains")
        if self._cors_paths and path.startswith(self._cors_paths):
            # The CORS grant depends on Origin: a shared cache must not hand it to another origin.
            vary_on(headers, "Origin")
        if path.startswith("/auth/"):
            # Account pages must not come back from the cache (the back button after sign-out).
            replace(headers, "Cache-Control", "no-store")
        if status.startswith(PAYLOAD_TOO_LARGE):
            # The body was refused unread: the connection must not carry another request. granian
            # honours this header; gunicorn drops it and closes by gunicorn.conf.py's pre_request.
            replace(headers, "Connection", "close")


def replace(headers: list[tuple[str, str]], name: str, value: str) -> None:
    """Set header `name` to `value` in a WSGI header list, dropping any other value of it."""
    lower = name.lower()
    headers[:] = [(key, old) for key, old in headers if key.lower() != lower]
    headers.append((name, value))


def vary_on(headers: list[tuple[str, str]], field: str) -> None:
    """Add `field` to the `Vary` header of a WSGI header list (or add one)."""
    for index, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            fields = {part.strip().lower() for part in value.split(",")}
            if field.lower() not in fields and "*" not in fields:
                headers[index] = (name, f"{value}, {field}" if value.strip() else field)
            return
    headers.append(("Vary", field))
