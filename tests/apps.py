"""Building extra testing applications (other databases, other settings)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from app import create_app
from models import db


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


def dispose_engines(application: Flask) -> None:
    """Close every pooled connection of `application` (the main engine and the reads pool)."""
    with application.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@contextmanager
def count_queries(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL statements `app` sends inside the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    with app.app_context():
        engines = list(db.engines.values())  # the main engine and, on PostgreSQL, the reads pool
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
