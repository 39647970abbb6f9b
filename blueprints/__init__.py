"""Blueprint registration: the one list of what is mounted where."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from blueprints import (
    api,
    api_audit,
    api_auth,
    api_passkeys,
    api_users,
    auth,
    auth0_login,
    auth_mfa,
    auth_passkeys,
    auth_recovery,
    health,
    main,
    openapi,
    v1_compat,
)
from models.base import MAX_ID
from services.user_service import NO_SUCH_USER

# api_auth, api_users and api_audit add their routes to api.bp; auth_recovery, auth_mfa and
# auth0_login to auth.bp, when imported.
ROUTE_MODULES = (
    api_audit,
    api_auth,
    api_passkeys,
    api_users,
    auth_mfa,
    auth_passkeys,
    auth_recovery,
    auth0_login,
)
BLUEPRINTS = (main.bp, api.bp, auth.bp, health.bp, openapi.bp)


class IdConverter(IntegerConverter):
    """`<id:user_id>`: a row id in a path. A number past the largest id a row can have reads as
    `NO_SUCH_USER` (0, no row's id either), so the route answers as for any unknown id (404, or
    403 to whom may not look) instead of sending the database a number it refuses (500).

    (Refusing it in the converter would answer 405 to PATCH and DELETE: Werkzeug checks the
    method of the rule that matched the pattern before it converts.)"""

    def to_python(self, value: str) -> int:
        number = int(super().to_python(value))
        return number if number <= MAX_ID else NO_SUCH_USER


def register_blueprints(app: Flask) -> None:
    """Mount every blueprint at its prefix; the old `/v1` contract only while it is enabled."""
    app.url_map.converters["id"] = IdConverter
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    if app.config["LEGACY_API_ENABLED"]:
        app.register_blueprint(v1_compat.bp)
