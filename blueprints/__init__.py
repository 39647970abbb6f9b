"""Blueprint registration: the one list of what is mounted where."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import BaseConverter, IntegerConverter

from blueprints import (
    admin,
    admin_audit,
    api,
    api_audit,
    api_auth,
    api_email,
    api_passkeys,
    api_sessions,
    api_users,
    auth,
    auth0_login,
    auth_email,
    auth_mfa,
    auth_passkeys,
    auth_recovery,
    auth_sessions,
    health,
    main,
    openapi,
    v1_compat,
)
from models.base import MAX_ID
from services.user_service import NO_SUCH_USER

# api_auth, api_users, api_audit, api_sessions, api_email and api_passkeys add their routes to
# api.bp; auth_recovery, auth_mfa, auth0_login, auth_sessions, auth_email and auth_passkeys to
# auth.bp; admin_audit to admin.bp, when imported.
ROUTE_MODULES = (
    admin_audit,
    api_audit,
    api_auth,
    api_passkeys,
    api_users,
    auth_mfa,
    auth_passkeys,
    auth_recovery,
    auth0_login,
)
SELF_SERVICE_ROUTE_MODULES = (api_sessions, auth_sessions)  # sessions and devices (contract §9)
EMAIL_CHANGE_ROUTES = (api_email, auth_email)  # services/auth/email_change.py
BLUEPRINTS = (main.bp, api.bp, auth.bp, health.bp, openapi.bp, admin.bp)


class IdConverter(IntegerConverter):
    """`<id:user_id>`: a row id in a path. A number past the largest id a row can have reads as
    `NO_SUCH_USER` (0, no row's id either), so the route answers as for any unknown id (404, or
    403 to whom may not look) instead of sending the database a number it refuses (500).

    (Refusing it in the converter would answer 405 to PATCH and DELETE: Werkzeug checks the
    method of the rule that matched the pattern before it converts.)"""

    # ASCII digits only: Werkzeug's `\d+` also matches other scripts' digits, which `int()`
    # reads, so `/users/\uff11` (a fullwidth 1) named user 1.
    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(super().to_python(value))
        return number if number <= MAX_ID else NO_SUCH_USER


class SessionIdConverter(BaseConverter):
    """`<session:session_id>`: a sign-in session's id (32 hex digits), so that
    `/auth/sessions/revoke-others` is never read as a session id."""

    regex = "[0-9a-fA-F]{32}"


def register_blueprints(app: Flask) -> None:
    """Mount every blueprint at its prefix; the old `/v1` contract only while it is enabled."""
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["session"] = SessionIdConverter
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    if app.config["LEGACY_API_ENABLED"]:
        app.register_blueprint(v1_compat.bp)
