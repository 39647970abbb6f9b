"""Rate limits of the sign-in routes, with limits read from the configuration.

Every decorator here notes the view it limits, so `skip_unlimited_routes` can spare every other
route Flask-Limiter's per-request hooks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, request, session

from blueprints.security import bearer_token
from errors import AppError
from extensions import account_key, limiter
from services import mfa_service, token_service

MFA_PENDING_KEY = "mfa_pending"

FAILED_ATTEMPT_STATUSES = frozenset({401, 403})
# Flask-Limiter settings that put limits on routes without a decorator (none is set here).
ROUTE_WIDE_LIMIT_SETTINGS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")
# The views (module-qualified names) that carry a limit from this module.
LIMITED_VIEWS: set[str] = set()
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def qualified_name(view: Callable[..., Any]) -> str:
    return f"{view.__module__}.{view.__qualname__}"


def noting_limited(decorator: Decorator) -> Decorator:
    """`decorator`, also recording that the view it wraps is rate limited."""

    def apply(view: Callable[..., Any]) -> Callable[..., Any]:
        LIMITED_VIEWS.add(qualified_name(view))
        return decorator(view)

    return apply


def configured(name: str) -> Callable[[], str]:
    """A limit string looked up in the config at request time."""
    return lambda: str(current_app.config[name])


def failed_attempt(response: Response) -> bool:
    """Only failed sign-ins count against the login limits."""
    return response.status_code in FAILED_ATTEMPT_STATUSES


def failed_attempt_limits(
    *, subject_setting: str, subject_key: Callable[[], str], scope: str
) -> Decorator:
    """Failed attempts (401/403) counted per client address and per subject (an account)."""

    @noting_limited
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        view = limiter.limit(
            configured("RATELIMIT_LOGIN_PER_ADDRESS"),
            deduct_when=failed_attempt,
            scope=f"{scope}-addr",
        )(view)
        return limiter.limit(
            configured(subject_setting),
            key_func=subject_key,
            deduct_when=failed_attempt,
            scope=f"{scope}-account",
        )(view)

    return decorate


# Failed logins per client address and per account.
login_limits = failed_attempt_limits(
    subject_setting="RATELIMIT_LOGIN_PER_ACCOUNT", subject_key=account_key, scope="login"
)


def address_limit(setting: str, scope: str) -> Decorator:
    """Every request counts, per client address."""
    return noting_limited(limiter.limit(configured(setting), scope=scope))


def account_limit(setting: str, scope: str) -> Decorator:
    """Every request counts, per account named in the body."""
    return noting_limited(limiter.limit(configured(setting), key_func=account_key, scope=scope))


def code_subject_key() -> str:
    """Rate-limit key for two-factor codes: the pending sign-in's user (from its mfa_token, or the
    browser's pending sign-in), else the Bearer caller's token, else the client address."""
    body = request.get_json(silent=True) if request.is_json else None
    token = body.get("mfa_token") if isinstance(body, dict) else None
    if isinstance(token, str):
        return f"mfa-user:{_token_user(token, 'api')}"
    pending = session.get(MFA_PENDING_KEY)
    if isinstance(pending, str):
        return f"mfa-user:{_token_user(pending, 'browser')}"
    try:
        bearer = bearer_token()
    except AppError:
        bearer = None
    if bearer:
        return f"mfa-token:{token_service.hash_token(bearer)[:32]}"
    return f"mfa-addr:{request.remote_addr}"


def _token_user(token: str, kind: str) -> str:
    try:
        return str(mfa_service.decode_mfa_token(token, kind))
    except AppError:
        return "-"  # an invalid or expired token: the view refuses it


# Wrong two-factor codes per client address and per pending sign-in (or caller).
code_limits = failed_attempt_limits(
    subject_setting="RATELIMIT_MFA", subject_key=code_subject_key, scope="mfa"
)


def skip_unlimited_routes(app: Flask) -> None:
    """Run Flask-Limiter's three per-request hooks only on the routes that carry a limit.

    The hooks resolve limits and manage their context on every request: ~10 % of a cached read's
    time under load, for nothing on a route without a limit when no route-wide limit is set.
    Call once every blueprint is registered. Fails loudly if Flask-Limiter no longer registers
    exactly one hook of each kind, so an upgrade cannot silently leave routes unchecked.
    """
    if not app.config.get("RATELIMIT_ENABLED", True):
        return  # Flask-Limiter then registers no hook at all
    if any(app.config.get(name) for name in ROUTE_WIDE_LIMIT_SETTINGS):
        return
    limited = frozenset(
        endpoint
        for endpoint, view in app.view_functions.items()
        if qualified_name(view) in LIMITED_VIEWS
    )
    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        functions = hooks.get(None, [])
        positions = [i for i, function in enumerate(functions) if _limiter_hook(function)]
        if len(positions) != 1:
            raise RuntimeError(
                "Flask-Limiter's request hooks changed: review skip_unlimited_routes"
            )
        functions[positions[0]] = _only_on(limited, functions[positions[0]])


def _limiter_hook(function: Callable[..., Any]) -> bool:
    if isinstance(function, functools.partial):
        return any(argument is limiter for argument in function.args)
    return getattr(function, "__self__", None) is limiter


def _only_on(endpoints: frozenset[str], hook: Callable[..., Any]) -> Callable[..., Any]:
    """`hook` on requests for `endpoints`; elsewhere a pass-through (a response goes back as is)."""

    def guarded(*args: Any) -> Any:
        if request.endpoint in endpoints:
            return hook(*args)
        return args[0] if args and isinstance(args[0], Response) else None

    return guarded
