"""Rate limits of the sign-in routes, with limits read from the configuration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request, session

from blueprints.security import bearer_token
from errors import AppError
from extensions import account_key, limiter
from services import mfa_service, token_service

MFA_PENDING_KEY = "mfa_pending"

FAILED_ATTEMPT_STATUSES = frozenset({401, 403})


def configured(name: str) -> Callable[[], str]:
    """A limit string looked up in the config at request time."""
    return lambda: str(current_app.config[name])


def failed_attempt(response: Response) -> bool:
    """Only failed sign-ins count against the login limits."""
    return response.status_code in FAILED_ATTEMPT_STATUSES


def failed_attempt_limits(
    *, subject_setting: str, subject_key: Callable[[], str], scope: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Failed attempts (401/403) counted per client address and per subject (an account)."""

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


def address_limit(setting: str, scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Every request counts, per client address."""
    return limiter.limit(configured(setting), scope=scope)


def account_limit(setting: str, scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Every request counts, per account named in the body."""
    return limiter.limit(configured(setting), key_func=account_key, scope=scope)


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
