"""Shared fixtures: one application per test session (per xdist worker), its own database,
the schema built by the real migrations, and every table emptied after each test.

The database is SQLite (a temporary file) unless `TEST_DATABASE_URL` names a PostgreSQL
server; there each worker gets a database of its own, created and dropped here.
"""

from __future__ import annotations

import os

os.environ["FLASK_CONFIG"] = "testing"  # before anything imports the app

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from extensions import limiter
from models import db
from tests.apps import dispose_engines, make_app
from tests.databases import TestDatabase, worker_database

pytest_plugins = ["tests.mail_server"]


@pytest.fixture(scope="session")
def database(worker_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """A database of this worker's own, dropped at the end of the session."""
    with worker_database(f"w_{worker_id}", tmp_path_factory.mktemp("db")) as test_database:
        yield test_database


@pytest.fixture(scope="session")
def app(database: TestDatabase) -> Iterator[Flask]:
    """The application under test, its schema built by the migrations."""
    application = make_app(database.url)
    with application.app_context():
        upgrade()
    yield application
    dispose_engines(application)


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts from empty tables (the schema stays)."""
    yield
    if "app" not in request.fixturenames:
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        limiter.reset()
        db.session.remove()
        tables = [table.name for table in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - own names


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Replace pytest-flask's fixture of this name, which keeps one request context open for
    the whole test: every test-client request would then share its `g` and database session,
    unlike real requests."""


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the session's application."""
    return app.test_client()


@pytest.fixture
def is_postgres(database: TestDatabase) -> bool:
    """True on the PostgreSQL run."""
    return database.dialect == "postgresql"


def pytest_report_header() -> str:
    target = os.environ.get("TEST_DATABASE_URL") or "SQLite (temporary file)"
    return f"test database: {target.split('@')[-1]}"
