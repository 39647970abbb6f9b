"""The reads pool pings only connections that sat idle (decision 0124): a connection closed by
the server while idle is replaced before the read; one in constant use is not pinged."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from config import READS_BIND
from models import db
from services import base_service
from services.base_service import read_only
from tests.ops_support import terminate_backend, throwaway_app

pytestmark = pytest.mark.integration

BACKEND = text("SELECT pg_backend_pid()")


@pytest.fixture
def postgres_app(app, is_postgres):
    """The app with its reads pool emptied before and after: the pool's one connection is the
    one each test closes, and none closed on the server is left for the next test."""
    if not is_postgres:
        pytest.skip("the reads pool exists on PostgreSQL only")
    with app.app_context():
        base_service.reads_engine().dispose()
    yield app
    with app.app_context():
        base_service.reads_engine().dispose()


def test_an_idle_connection_closed_by_the_server_is_replaced_before_the_read(
    postgres_app, monkeypatch
):
    with postgres_app.app_context():
        with read_only() as connection:
            first = connection.scalar(BACKEND)
        terminate_backend(first)
        monkeypatch.setattr(base_service, "IDLE_PING_SECONDS", 0.0)  # it has sat idle
        with read_only() as connection:
            assert connection.scalar(BACKEND) != first


def test_a_connection_in_constant_use_is_not_pinged(postgres_app, monkeypatch):
    # The trade-off, stated: the one read that finds it closed fails; the pool is then replaced.
    with postgres_app.app_context():
        with read_only() as connection:
            first = connection.scalar(BACKEND)
        terminate_backend(first)
        monkeypatch.setattr(base_service, "IDLE_PING_SECONDS", 3600.0)
        with pytest.raises(OperationalError), read_only() as connection:
            connection.scalar(BACKEND)
        with read_only() as connection:
            assert connection.scalar(BACKEND) != first


@pytest.mark.parametrize("pre_ping", [True, False])
def test_the_reads_pool_pings_idle_connections_only_with_pre_ping(
    database, is_postgres, monkeypatch, pre_ping
):
    if not is_postgres:
        pytest.skip("the reads pool exists on PostgreSQL only")
    monkeypatch.setenv("SQLALCHEMY_POOL_PRE_PING", str(pre_ping).lower())
    with throwaway_app(database.url) as application, application.app_context():
        reads = db.engines[READS_BIND]
        assert reads.pool._pre_ping is False  # never on every checkout
        assert event.contains(reads, "checkout", base_service._ping_if_idle) is pre_ping
