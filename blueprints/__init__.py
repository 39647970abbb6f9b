"""Blueprint registration: the one list of what is mounted where."""

from __future__ import annotations

from flask import Flask

from blueprints import (
    api,
    api_audit,
    api_auth,
    api_users,
    auth,
    auth0_login,
    auth_mfa,
    auth_recovery,
    health,
    main,
    openapi,
    v1_compat,
)

# api_auth, api_users and api_audit add their routes to api.bp; auth_recovery, auth_mfa and
# auth0_login to auth.bp, when imported.
ROUTE_MODULES = (api_audit, api_auth, api_users, auth_mfa, auth_recovery, auth0_login)
BLUEPRINTS = (main.bp, api.bp, auth.bp, health.bp, openapi.bp)


def register_blueprints(app: Flask) -> None:
    """Mount every blueprint at its prefix; the old `/v1` contract only while it is enabled."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    if app.config["LEGACY_API_ENABLED"]:
        app.register_blueprint(v1_compat.bp)
