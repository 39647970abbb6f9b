"""Migration 0011 (auth_sessions.last_used_at): sessions from before it keep working and read
their created_at as last use; the downgrade drops the column and keeps the sessions."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from models import db
from tests.apps import dispose_engines, make_app
from tests.databases import worker_database

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def scratch_app(worker_id, tmp_path):
    with worker_database(f"m11_{worker_id}", tmp_path) as scratch:
        application = make_app(scratch.url)
        yield application
        dispose_engines(application)


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
