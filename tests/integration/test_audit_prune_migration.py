"""Migration 0013 both ways (PostgreSQL): upgraded, the trigger lets an old event be pruned below
a stated cutoff; downgraded, it refuses every DELETE again."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models import db
from tests.integration.test_migrations import scratch_app  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres_only]

CUTOFF = "SELECT set_config('app.audit_prune_before', (now() - interval '30 days')::text, true)"
PRUNE = "DELETE FROM audit_events WHERE created_at < now() - interval '30 days'"


def add_old_event():
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events (type, created_at) "
                "VALUES ('auth.logout', now() - interval '400 days')"
            )
        )


def prune() -> int:
    with db.engine.begin() as connection:
        connection.execute(text(CUTOFF))
        return connection.execute(text(PRUNE)).rowcount


def test_the_pruning_trigger_comes_and_goes_with_migration_0013(scratch_app):  # noqa: F811
    with scratch_app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        upgrade(revision="0013")
        add_old_event()
        assert prune() == 1

        downgrade(revision="-1")  # to the revision before 0013
        add_old_event()
        with pytest.raises(DBAPIError, match="append-only"):
            prune()

        upgrade(revision="0013")
        assert prune() == 1
