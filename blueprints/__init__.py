"""Blueprint registration: the one list of what is mounted where."""

from __future__ import annotations

from flask import Flask

from blueprints import (
    api,
    api_audit,
    api_auth,
    api_users,
    auth,
    auth_mfa,
    auth_recovery,
    health,
    main,
    openapi,
)

# api_auth and api_users add their routes to api.bp, auth_recovery to auth.bp, when imported.
ROUTE_MODULES = (api_audit, api_auth, api_users, auth_mfa, auth_recovery)
BLUEPRINTS = (main.bp, api.bp, auth.bp, health.bp, openapi.bp)


def register_blueprints(app: Flask) -> None:
    """Mount every blueprint at its prefix."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
