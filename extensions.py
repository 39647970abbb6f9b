"""Unbound extension objects, bound to an application in `app.register_extensions`."""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate

from models.base import db

migrate = Migrate(compare_type=True, render_as_batch=True)
# Storage, enablement and limits come from the app config (RATELIMIT_*), Redis when configured.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def account_key() -> str:
    """Rate-limit key for the account named in the JSON body (normalised like stored emails)."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str):
        return "account:-"
    return f"account:{email.strip().lower()[:320]}"


__all__ = ["account_key", "db", "limiter", "migrate"]
