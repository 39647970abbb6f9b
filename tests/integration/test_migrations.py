"""Migrations build the schema both ways on this run's database, and match the models."""

import logging
import warnings
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, DateTime, Index, bindparam, inspect, text
from sqlalchemy.schema import CreateIndex

from models import db
from models.base import ONLY_ON, in_schema_of
from tests.apps import dispose_engines, make_app
from tests.databases import worker_database
from tests.factories import fullwidth

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def scratch_app(worker_id, tmp_path):
    with worker_database(f"mig_{worker_id}", tmp_path) as scratch:
        application = make_app(scratch.url)
        yield application
        dispose_engines(application)


def table_names():
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade_round_trip(scratch_app):
    with scratch_app.app_context():
        upgrade()
        assert "users" in table_names()
        downgrade(revision="base")
        assert table_names() == set()
        upgrade()
        assert table_names() == set(db.metadata.tables)


def test_models_and_migrations_agree(scratch_app):
    with scratch_app.app_context():
        upgrade()
        with db.engine.connect() as connection, warnings.catch_warnings():
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:  # its reflection cannot read an index of an expression: see below
                warnings.filterwarnings("ignore", ".*expression-based index")
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "render_as_batch": True,
                    "include_object": in_schema_of(connection.dialect.name),  # as env.py
                },
            )
            diff = compare_metadata(context, db.metadata)
            if sqlite:  # each expression index exactly as the model would create it
                for index in expression_indexes(connection.dialect.name):
                    stored = connection.scalar(
                        text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"),
                        {"n": index.name},
                    )
                    assert stored == str(CreateIndex(index).compile(dialect=connection.dialect))
        assert diff == [], f"run `flask db migrate`: models differ from migrations: {diff}"


def expression_indexes(dialect_name: str) -> list[Index]:
    """The models' indexes of an expression in the schema of `dialect_name`."""
    found = [
        index
        for table in db.metadata.tables.values()
        for index in table.indexes
        if any(not isinstance(expression, Column) for expression in index.expressions)
        and index.info.get(ONLY_ON, dialect_name) == dialect_name
    ]
    assert found, "the search index of users (migration 0015) at least"
    return found


# (email, live) rows as a database before migration 0008 may hold them.
WIDE_ADMIN = f"admin@{fullwidth('acceptance')}.example"
WIDE_EVE = f"{fullwidth('e')}ve@example.com"
WIDE_EVE_DOMAIN = f"eve@{fullwidth('e')}xample.com"
UNNORMALISED = [
    ("admin@acceptance.example", True),
    (WIDE_ADMIN, True),  # collides with the first: both stay
    (WIDE_ADMIN, False),  # deleted: no collision, normalised
    (f"{fullwidth('c')}arol@{fullwidth('e')}xample.com", True),
    ("dave@xn--bcher-kva.example", True),
    (WIDE_EVE, True),  # these two collide with each other only: both stay
    (WIDE_EVE_DOMAIN, True),
    ("not-an-email", True),  # no valid address: stays
    ("plain@example.com", True),
]
NORMALISED = [
    "admin@acceptance.example",
    WIDE_ADMIN,
    "admin@acceptance.example",
    "carol@example.com",
    "dave@bücher.example",
    WIDE_EVE,
    WIDE_EVE_DOMAIN,
    "not-an-email",
    "plain@example.com",
]


def insert_users(rows):
    with db.engine.begin() as connection:
        for number, (email, live) in enumerate(rows, start=1):
            connection.execute(
                text(
                    "INSERT INTO users (id, email, name, role, is_active, email_verified,"
                    " legacy_id, created_at, updated_at, deleted_at)"
                    " VALUES (:id, :email, :name, 'user', true, false, :legacy_id,"
                    " :now, :now, :deleted_at)"
                ).bindparams(  # typed: SQLAlchemy writes the times, not sqlite3's old adapter
                    bindparam("now", type_=DateTime(timezone=True)),
                    bindparam("deleted_at", type_=DateTime(timezone=True)),
                ),
                {
                    "id": number,
                    "email": email,
                    "name": f"User {number}",
                    "legacy_id": f"{number:024x}",
                    "now": datetime.now(UTC),
                    "deleted_at": None if live else datetime.now(UTC),
                },
            )


def emails():
    with db.engine.connect() as connection:
        return list(connection.scalars(text("SELECT email FROM users ORDER BY id")))


def test_emails_are_normalised_collisions_reported_and_the_downgrade_restores_them(
    scratch_app, caplog
):
    with scratch_app.app_context():
        upgrade(revision="0007")
        insert_users(UNNORMALISED)

        with caplog.at_level(logging.WARNING, logger="alembic.runtime.migration"):
            upgrade(revision="0008")
        normalised = emails()
        with db.engine.begin() as connection:  # changed since: the downgrade leaves it be
            connection.execute(text("UPDATE users SET email = 'carol2@example.com' WHERE id = 4"))
        downgrade(revision="0007")
        restored = emails()
        upgrade(revision="0008")
        again = emails()

    assert normalised == NORMALISED
    warnings = [record.getMessage() for record in caplog.records]
    assert any("users 1, 2 share the email admin@acceptance.example" in w for w in warnings)
    assert any("users 6, 7 share the email eve@example.com" in w for w in warnings)
    assert any("user 8: email is no valid address" in w for w in warnings)
    changed_since = {3: "carol2@example.com"}
    assert restored == [changed_since.get(n, email) for n, (email, _) in enumerate(UNNORMALISED)]
    assert again == [changed_since.get(n, email) for n, email in enumerate(NORMALISED)]


# Migration 0011 (auth_sessions.last_used_at): sessions from before it keep working and read
# their created_at as last use; the downgrade drops the column and keeps the sessions.
def session_columns():
    return {column["name"] for column in inspect(db.engine).get_columns("auth_sessions")}


def test_0011_adds_last_used_at_and_its_downgrade_removes_it(scratch_app):
    with scratch_app.app_context():
        upgrade(revision="0010")
        assert "last_used_at" not in session_columns()
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, email, name, role, is_active, email_verified, "
                    "legacy_id, created_at, updated_at) VALUES (1, 'a@example.com', 'A', 'user', "
                    ":yes, :yes, '0123456789abcdef01234567', :now, :now)"
                ),
                {"yes": True, "now": "2026-12-01 10:00:00"},
            )
            connection.execute(
                text(
                    "INSERT INTO auth_sessions (id, user_id, kind, created_at) "
                    "VALUES (:id, 1, 'browser', :now)"
                ),
                {"id": "a" * 32, "now": "2026-12-01 10:00:00"},
            )
        upgrade(revision="0011")
        assert "last_used_at" in session_columns()
        with db.engine.connect() as connection:
            row = connection.execute(text("SELECT id, last_used_at FROM auth_sessions")).one()
        assert row == ("a" * 32, None)
        downgrade(revision="0010")
        assert "last_used_at" not in session_columns()
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM auth_sessions")) == 1
