"""Building extra testing applications (other databases, other settings)."""

from __future__ import annotations

import os

from flask import Flask

from app import create_app


def make_app(database_url: str, **overrides: object) -> Flask:
    """A testing application on `database_url`, with config overrides applied after build."""
    previous = os.environ.get("TEST_DATABASE_URL")
    os.environ["TEST_DATABASE_URL"] = database_url
    try:
        application = create_app("testing")
    finally:
        if previous is None:
            os.environ.pop("TEST_DATABASE_URL", None)
        else:
            os.environ["TEST_DATABASE_URL"] = previous
    application.config.update(overrides)
    return application
