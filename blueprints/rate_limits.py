"""Rate limits of the sign-in routes, with limits read from the configuration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app

from extensions import account_key, limiter

FAILED_ATTEMPT_STATUSES = frozenset({401, 403})


def configured(name: str) -> Callable[[], str]:
    """A limit string looked up in the config at request time."""
    return lambda: str(current_app.config[name])


def failed_attempt(response: Response) -> bool:
    """Only failed sign-ins count against the login limits."""
    return response.status_code in FAILED_ATTEMPT_STATUSES


def login_limits(view: Callable[..., Any]) -> Callable[..., Any]:
    """Failed logins per client address and per account."""
    view = limiter.limit(
        configured("RATELIMIT_LOGIN_PER_ADDRESS"), deduct_when=failed_attempt, scope="login-addr"
    )(view)
    return limiter.limit(
        configured("RATELIMIT_LOGIN_PER_ACCOUNT"),
        key_func=account_key,
        deduct_when=failed_attempt,
        scope="login-account",
    )(view)


def address_limit(setting: str, scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Every request counts, per client address."""
    return limiter.limit(configured(setting), scope=scope)


def account_limit(setting: str, scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Every request counts, per account named in the body."""
    return limiter.limit(configured(setting), key_func=account_key, scope=scope)
