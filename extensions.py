"""Unbound extension objects, bound to an application in `app.register_extensions`."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Flask, Response, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from domain.emails import EMAIL_MAX_LENGTH, email_key
from models.base import db

migrate = Migrate(compare_type=True, render_as_batch=True)
# Storage, enablement and limits come from the app config (RATELIMIT_*), Redis when configured.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
# Browser sessions: the cookie names an AuthSession row (blueprints/security.py loads it).
login_manager = LoginManager()
# CSRF tokens; when a request must carry one is decided in blueprints/security.py.
csrf = CSRFProtect()
# Page and mail languages; the locale selector lives in i18n.py.
babel = Babel()


def account_key() -> str:
    """Rate-limit key for the account named in the JSON or form body (normalised like emails)."""
    body = request.get_json(silent=True) if request.is_json else request.form
    email = body.get("email") if isinstance(body, Mapping) else None
    if not isinstance(email, str):
        return "account:-"
    return f"account:{email_key(email[: EMAIL_MAX_LENGTH * 2])[:EMAIL_MAX_LENGTH]}"


def narrow_after_request(
    app: Flask, is_hook: Callable[[object], bool], when: Callable[[], bool], extension: str
) -> None:
    """Run the one after-request function of `extension` that `is_hook` picks only when `when()`
    holds, in its place among the app's hooks (for one that can have nothing to do otherwise).
    Fails loudly unless exactly one function matches, so an upgrade of the extension cannot
    silently drop or double it."""
    hooks = app.after_request_funcs[None]
    positions = [i for i, hook in enumerate(hooks) if is_hook(hook)]
    if len(positions) != 1:
        raise RuntimeError(f"{extension}'s request hooks changed: review narrow_after_request")
    hook: Callable[[Response], Response] = hooks[positions[0]]  # type: ignore[assignment]

    def hook_when_needed(response: Response) -> Response:
        return hook(response) if when() else response

    hooks[positions[0]] = hook_when_needed


__all__ = [
    "account_key",
    "babel",
    "csrf",
    "db",
    "limiter",
    "login_manager",
    "migrate",
    "narrow_after_request",
]
