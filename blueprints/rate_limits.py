"""Rate limits of the sign-in routes, with limits read from the configuration.

`skip_unlimited_routes` spares the routes without any limit Flask-Limiter's per-request hooks;
which routes carry a limit is asked of Flask-Limiter itself (decision 0043), so a limit added in
any of its ways (a decorator, `deduct_when`, a blueprint-wide limit) is always counted.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, request, session
from flask.typing import ResponseReturnValue
from flask_limiter import RateLimitExceeded

from blueprints.endpoint import ENDPOINT_SPEC_ATTRIBUTE, render_form_errors
from blueprints.security import authenticate_request
from domain.texts import N_
from errors import AppError, RateLimited, error_response, from_http_exception, wants_json
from extensions import account_key, limiter
from services import mfa_service

MFA_PENDING_KEY = "mfa_pending"

FAILED_ATTEMPT_STATUSES = frozenset({401, 403})
# The answers a `Retry-After` belongs to: refused for now (RFC 9110 §10.2.3).
RETRY_LATER_STATUSES = frozenset({429, 503})
# Flask-Limiter settings that put limits on every route (none is set here).
ROUTE_WIDE_LIMIT_SETTINGS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")
# Where the app keeps its `LimitedEndpoints` (absent when rate limiting is off).
LIMITED_ENDPOINTS = "limited_endpoints"
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def configured(name: str) -> Callable[[], str]:
    """A limit string looked up in the config at request time."""
    return lambda: str(current_app.config[name])


def wrong_secret(_: Response) -> bool:
    """A wrong password or code given by the request (an `AppError` with `failed_attempt`,
    noted by `blueprints/endpoint.py`)."""
    return bool(g.get("failed_attempt"))


def failed_attempt(response: Response) -> bool:
    """Failed sign-ins (401/403) and wrong secrets count against the failed-attempt limits."""
    return response.status_code in FAILED_ATTEMPT_STATUSES or wrong_secret(response)


def failed_attempt_limits(
    *,
    subject_setting: str,
    subject_key: Callable[[], str],
    scope: str,
    counts: Callable[[Response], bool] = failed_attempt,
) -> Decorator:
    """Failed attempts (`counts`) counted per client address and per subject (an account)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        view = limiter.limit(
            configured("RATELIMIT_LOGIN_PER_ADDRESS"),
            deduct_when=counts,
            scope=f"{scope}-addr",
        )(view)
        return limiter.limit(
            configured(subject_setting),
            key_func=subject_key,
            deduct_when=counts,
            scope=f"{scope}-account",
        )(view)

    return decorate


# Failed logins per client address and per account.
login_limits = failed_attempt_limits(
    subject_setting="RATELIMIT_LOGIN_PER_ACCOUNT", subject_key=account_key, scope="login"
)


def address_limit(setting: str, scope: str) -> Decorator:
    """Every request counts, per client address."""
    return limiter.limit(configured(setting), scope=scope)


def account_limit(setting: str, scope: str) -> Decorator:
    """Every request counts, per account named in the body."""
    return limiter.limit(configured(setting), key_func=account_key, scope=scope)


def caller_key() -> str:
    """Rate-limit key for the signed-in caller's own re-checks (current password, 2FA codes): the
    user, whichever of their tokens or sessions asks; the client address for a request the view
    will refuse (401)."""
    try:
        return f"user:{authenticate_request().id}"  # kept on `g`: the view does not repeat it
    except Exception:  # Flask-Limiter would take any error here for a storage outage
        return f"addr:{request.remote_addr}"


def code_subject_key() -> str:
    """Rate-limit key for two-factor codes: the pending sign-in's user (from its mfa_token, or the
    browser's pending sign-in), else the signed-in caller (`caller_key`)."""
    body = request.get_json(silent=True) if request.is_json else None
    token = body.get("mfa_token") if isinstance(body, dict) else None
    if isinstance(token, str):
        return f"mfa-user:{_token_user(token, 'api')}"
    pending = session.get(MFA_PENDING_KEY)
    if isinstance(pending, str):
        return f"mfa-user:{_token_user(pending, 'browser')}"
    return f"mfa-{caller_key()}"


def _token_user(token: str, kind: str) -> str:
    try:
        return str(mfa_service.decode_mfa_token(token, kind))
    except AppError:
        return "-"  # an invalid or expired token: the view refuses it


# Wrong two-factor codes per client address and per pending sign-in (or caller).
code_limits = failed_attempt_limits(
    subject_setting="RATELIMIT_MFA", subject_key=code_subject_key, scope="mfa"
)

# Refused passkeys per client address (a passkey names no account before it is verified).
passkey_limits = limiter.limit(
    configured("RATELIMIT_LOGIN_PER_ADDRESS"), deduct_when=failed_attempt, scope="passkey-addr"
)

# Wrong current passwords (confirming a change of one's own account) per client address and per
# user: a stolen access token or an unattended browser must not find the password by guessing.
password_check_limits = failed_attempt_limits(
    subject_setting="RATELIMIT_LOGIN_PER_ACCOUNT",
    subject_key=caller_key,
    scope="password-check",
    counts=wrong_secret,
)


def register_refusals(app: Flask) -> None:
    """A refused request (429) answers like other errors, with a `Retry-After` of whole seconds;
    a browser form (a route with a `page`) comes back with "Try again in N seconds."."""

    @app.errorhandler(RateLimitExceeded)
    def refuse(exc: RateLimitExceeded) -> ResponseReturnValue:
        seconds = g.retry_after = retry_after_seconds()
        view = app.view_functions.get(request.endpoint or "")
        page = getattr(getattr(view, ENDPOINT_SPEC_ATTRIBUTE, None), "page", None)
        if page is None or wants_json():
            error = from_http_exception(exc)
            error.headers["Retry-After"] = str(seconds)
            return error_response(error)
        message = N_("Too many attempts. Try again in %(seconds)s seconds.") % {"seconds": seconds}
        return render_form_errors(page, RateLimited(message, headers={"Retry-After": str(seconds)}))


def retry_after_seconds() -> int:
    """Whole seconds until the breached limit of this request lets a request through again."""
    breached = limiter.current_limit
    return max(1, int(breached.reset_at - time.time())) if breached else 1  # as Flask-Limiter


def skip_unlimited_routes(app: Flask) -> None:
    """Run Flask-Limiter's three per-request hooks only on the routes that carry a limit.

    The hooks resolve limits and manage their context on every request: ~10 % of a cached read's
    time under load, for nothing on a route without a limit. Whether a route carries one is asked
    of Flask-Limiter's own registry at its first request (`LimitedEndpoints`), so no limit can
    be missed. Call once the limiter is bound. Fails loudly if Flask-Limiter no longer registers
    exactly one hook of each kind, so an upgrade cannot silently leave routes unchecked.
    """
    if not app.config.get("RATELIMIT_ENABLED", True):
        return  # Flask-Limiter then registers no hook at all
    everywhere = any(app.config.get(name) for name in ROUTE_WIDE_LIMIT_SETTINGS)
    limited = app.extensions[LIMITED_ENDPOINTS] = LimitedEndpoints(app, everywhere=everywhere)
    before, after, teardown = (
        _limiter_hook_position(hooks)
        for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    )
    check: Callable[[], Any] = app.before_request_funcs[None][before]
    add_headers: Callable[[Response], Response] = app.after_request_funcs[None][after]  # type: ignore[assignment]
    release: Callable[[BaseException | None], Any] = app.teardown_request_funcs[None][teardown]

    def check_when_limited() -> None:
        if limited.now():
            request.get_data(cache=True)  # a body over MAX_CONTENT_LENGTH is refused here (413)
            check()

    def add_headers_when_limited(response: Response) -> Response:
        return sane_limit_headers(add_headers(response)) if limited.now() else response

    def release_when_limited(error: BaseException | None) -> None:
        if limited.now():
            release(error)

    app.before_request_funcs[None][before] = check_when_limited
    app.after_request_funcs[None][after] = add_headers_when_limited
    app.teardown_request_funcs[None][teardown] = release_when_limited


class LimitedEndpoints:
    """Which endpoints carry a rate limit, as Flask-Limiter resolves them (remembered per endpoint:
    an application's routes no longer change once it serves requests)."""

    def __init__(self, app: Flask, *, everywhere: bool) -> None:
        self.app = app
        self.everywhere = everywhere
        self.known: dict[str, bool] = {}

    def now(self) -> bool:
        """Whether the current request's endpoint carries a limit."""
        endpoint = request.endpoint
        if endpoint is None:
            return False  # no route: Flask-Limiter checks nothing either
        return self.of(endpoint)

    def of(self, endpoint: str) -> bool:
        """Whether `endpoint` carries a limit."""
        limited = self.known.get(endpoint)
        if limited is None:
            limited = self.known[endpoint] = self.everywhere or self._resolve(endpoint)
        # A limit on a callable the view calls (or `with limiter.limit(...)`) becomes known to
        # Flask-Limiter at that callable's first use.
        return limited or limiter.limit_manager.has_hints(endpoint)

    def _resolve(self, endpoint: str) -> bool:
        manager = limiter.limit_manager
        blueprint = endpoint.rpartition(".")[0] or None
        _, decorated = manager.resolve_limits(self.app, endpoint, blueprint, in_middleware=False)
        return bool(decorated or manager.default_limits or manager.application_limits)


def sane_limit_headers(response: Response) -> Response:
    """Flask-Limiter's headers without times in the past: once a window has expired its storage
    may report the window's old start, which made `Retry-After: -4` on a successful answer.
    `Retry-After` belongs to refused answers only; `X-RateLimit-Reset` is never before now."""
    if response.status_code not in RETRY_LATER_STATUSES:
        response.headers.pop("Retry-After", None)
    elif "retry_after" in g:  # the number the refusal's message states (`register_refusals`)
        response.headers["Retry-After"] = str(g.retry_after)
    elif response.headers.get("Retry-After", "").lstrip("-").isdigit():  # not an HTTP date
        response.headers["Retry-After"] = str(max(1, int(response.headers["Retry-After"])))
    reset = response.headers.get("X-RateLimit-Reset")
    now = math.ceil(time.time())
    if reset is not None and int(reset) < now:
        response.headers["X-RateLimit-Reset"] = str(now)
    return response


def _limiter_hook_position(hooks: dict[Any, list[Callable[..., Any]]]) -> int:
    positions = [i for i, function in enumerate(hooks.get(None, [])) if _limiter_hook(function)]
    if len(positions) != 1:
        raise RuntimeError("Flask-Limiter's request hooks changed: review skip_unlimited_routes")
    return positions[0]


def _limiter_hook(function: Callable[..., Any]) -> bool:
    if isinstance(function, functools.partial):
        return any(argument is limiter for argument in function.args)
    return getattr(function, "__self__", None) is limiter
