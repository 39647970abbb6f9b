"""Migrations build the schema both ways on this run's database, and match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from models import db
from tests.apps import dispose_engines, make_app
from tests.databases import worker_database

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
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"run `flask db migrate`: models differ from migrations: {diff}"
