"""Blueprint registration: the one list of what is mounted where."""

from __future__ import annotations

from flask import Flask

from blueprints import api, auth, health, main

BLUEPRINTS = (main.bp, api.bp, auth.bp, health.bp)


def register_blueprints(app: Flask) -> None:
    """Mount every blueprint at its prefix."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
