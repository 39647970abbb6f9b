"""Hot reads on psycopg's cursor answer what SQLAlchemy's execution answers, fail as it fails,
and leave everything else to it (decision 0136)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import bindparam, event, func, select, text
from sqlalchemy.exc import OperationalError

from models import User, db
from models.base import UTCDateTime
from observability import metrics
from schemas.user import UserListQuery
from services import base_service, direct_reads, user_service
from services.auth.authentication import CALLER_ROLE
from services.base_service import reads_engine
from services.direct_reads import compiled_read, fetch_all, fetch_first
from tests.factories import create_user
from tests.ops_support import terminate_backend

pytestmark = pytest.mark.integration

COUNT, PAGE = user_service.list_statements(
    user_service.ListShape(False, False, False, False, (("id", False),))
)
BY_IDS = select(User.id).where(User.id.in_(bindparam("ids", expanding=True))).order_by(User.id)
CREATED_BEFORE = select(User.id, User.created_at).where(
    User.created_at < bindparam("before", type_=UTCDateTime), User.deleted_at.is_(None)
)
BACKEND = select(func.pg_backend_pid().label("pid"))
PAGE_PARAMETERS = {"limit": 20, "offset": 0}
HOT = [
    (user_service.USER_BY_ID, {"user_id": 1}),
    (PAGE, PAGE_PARAMETERS),
    (COUNT, {}),
    (user_service.LIVE_ID_AT, {"anchor_offset": 1}),
    (CREATED_BEFORE, {"before": datetime(2100, 1, 1, tzinfo=timezone(timedelta(hours=5)))}),
]


def through_sqlalchemy(statement, parameters) -> list[dict]:
    with reads_engine().connect() as connection:
        return [dict(row._mapping) for row in connection.execute(statement, parameters)]


@pytest.fixture
def users(app):
    for n in range(3):
        create_user(app, email=f"direct{n}@example.com", name=f"Direct {n}")
    return app


@pytest.mark.parametrize(("statement", "parameters"), HOT)
def test_a_hot_read_answers_what_sqlalchemy_answers(users, is_postgres, statement, parameters):
    with users.app_context(), ExitStack() as stack:
        if is_postgres:
            assert compiled_read(statement, reads_engine()) is not None, "runs on the cursor"
            # psycopg answers times in the session's zone; the rows are in UTC all the same.
            stack.enter_context(_every_reads_connection("TimeZone = 'Asia/Kolkata'"))
        answered = fetch_all(statement, parameters)
        assert answered == through_sqlalchemy(statement, parameters)
        assert answered, "the statement found rows"
        for value in answered[0].values():
            if isinstance(value, datetime):
                assert value.tzinfo is UTC  # UTCDateTime's own result processing applied


def test_the_caller_read_answers_the_callers_role_and_the_row(users):
    with users.test_request_context():
        (session_id,) = _open_session(user_id=1)
        parameters = {"session_id": session_id, "caller_id": 1, "user_id": 2}
        row = fetch_first(user_service.USER_BY_ID_FOR_CALLER, parameters)
        assert row == through_sqlalchemy(user_service.USER_BY_ID_FOR_CALLER, parameters)[0]
        assert row is not None and row["caller_role"] in ("admin", "user")
        assert fetch_first(CALLER_ROLE, {"session_id": "nope", "caller_id": 1}) is None
        # Reading oneself: the same row as the two-join statement answers for one's own id.
        own = {"session_id": session_id, "caller_id": 1}
        assert fetch_first(user_service.OWN_USER_FOR_CALLER, own) == fetch_first(
            user_service.USER_BY_ID_FOR_CALLER, own | {"user_id": 1}
        )
        assert (
            fetch_first(user_service.OWN_USER_FOR_CALLER, own)
            == through_sqlalchemy(user_service.OWN_USER_FOR_CALLER, own)[0]
        )


def _open_session(*, user_id: int) -> tuple[str]:
    from services import session_service

    with base_service.unit_of_work():
        session = session_service.open_session(db.session.get(User, user_id))
    return (session.id,)


def test_an_expanding_parameter_runs_through_sqlalchemy(users, is_postgres):
    with users.app_context():
        assert compiled_read(BY_IDS, reads_engine()) is None
        rows = fetch_all(BY_IDS, {"ids": [1, 2]})
        assert [row["id"] for row in rows] == [1, 2]


def test_cursor_listeners_see_every_statement(users, is_postgres):
    seen: list[str] = []
    with users.app_context():
        engine = reads_engine()

        def listen(_conn, _cursor, statement, *_args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", listen)
        try:
            assert compiled_read(user_service.USER_BY_ID, engine) is None
            fetch_first(user_service.USER_BY_ID, {"user_id": 1})
        finally:
            event.remove(engine, "before_cursor_execute", listen)
    assert len(seen) == 1


def test_the_list_answers_the_same_pages(users):
    with users.app_context():
        page = user_service.list_users(
            actor=_admin(), query=UserListQuery.model_validate({"per_page": 2, "page": 2})
        )
    assert page.total == 3 and [row["email"] for row in page.items] == ["direct2@example.com"]


def _admin():
    from services.policy import OPERATOR

    return OPERATOR


def test_sqlite_reads_through_sqlalchemy(users, is_postgres):
    if is_postgres:
        pytest.skip("the SQLite run checks the other path")
    with users.app_context():
        assert compiled_read(user_service.USER_BY_ID, reads_engine()) is None


@pytest.fixture
def postgres_app(users, is_postgres):
    """The app with its reads pool emptied before and after the test: no connection parked or
    pooled by another test, and none this one closed on the server left for the next."""
    if not is_postgres:
        pytest.skip("reads run on the cursor on PostgreSQL only")
    with users.app_context():
        reads_engine().dispose()
    yield users
    with users.app_context():
        reads_engine().dispose()


def test_a_lost_connection_fails_as_sqlalchemy_fails_and_is_replaced(postgres_app, monkeypatch):
    monkeypatch.setattr(base_service, "IDLE_PING_SECONDS", 3600.0)  # no ping: the read finds it
    with postgres_app.app_context():
        first = fetch_first(BACKEND, {})
        assert first is not None
        terminate_backend(first["pid"])
        with pytest.raises(OperationalError) as failure:
            fetch_first(BACKEND, {})
        assert failure.value.connection_invalidated
        again = fetch_first(BACKEND, {})
        assert again is not None and again["pid"] != first["pid"]


def test_a_statement_timeout_is_sqlalchemys_operational_error(postgres_app):
    slow = select(func.pg_sleep(bindparam("seconds")).label("slept"))
    with postgres_app.app_context():
        with (
            pytest.raises(OperationalError, match="statement timeout"),
            _every_reads_connection("statement_timeout = 50"),
        ):
            fetch_first(slow, {"seconds": 1})
        assert fetch_first(select(func.now().label("now")), {}) is not None


@contextmanager
def _every_reads_connection(setting: str) -> Iterator[None]:
    """Run `SET <setting>` on every reads connection, the next read's included."""
    engine = reads_engine()

    def listener(dbapi_connection, *_):
        dbapi_connection.execute(f"SET {setting}")

    engine.dispose()
    event.listen(engine, "connect", listener)
    try:
        yield
    finally:
        event.remove(engine, "connect", listener)
        engine.dispose()


def test_compiled_reads_are_kept_per_statement(postgres_app):
    with postgres_app.app_context():
        engine = reads_engine()
        first = compiled_read(user_service.USER_BY_ID, engine)
        assert compiled_read(user_service.USER_BY_ID, engine) is first
        assert (user_service.USER_BY_ID, engine.dialect) in direct_reads._compiled


def test_the_sql_is_numbered_once_per_name():
    sql, names = direct_reads.numbered(
        "SELECT %(a)s, %(b_1)s WHERE x LIKE 'p%%' AND y = %(a)s AND z = %(param.odd)s"
    )
    assert sql == "SELECT $1, $2 WHERE x LIKE 'p%' AND y = $1 AND z = $3"
    assert names == ("a", "b_1", "param.odd")


def _backend_alive(pid: int) -> bool:
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
        return bool(connection.scalar(alive, {"pid": pid}))


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while _backend_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_connection_stays_parked_between_reads_and_is_not_counted_as_in_use(postgres_app):
    with postgres_app.app_context():
        engine = reads_engine()
        direct_reads.PARKED.give_back(engine)
        first = fetch_first(BACKEND, {})
        assert direct_reads.PARKED.count(engine) == 1
        assert fetch_first(BACKEND, {}) == first, "the parked connection answered again"
        assert engine.pool.checkedout() == direct_reads.PARKED.count(engine) == 1
        metrics.LIVE.sample()
        assert REGISTRY.get_sample_value("db_pool_connections_checked_out") == 0


def test_a_parked_connection_goes_back_to_the_pool_idle_since_it_was_parked(postgres_app):
    with postgres_app.app_context():
        engine = reads_engine()
        direct_reads.PARKED.give_back(engine)
        fetch_first(BACKEND, {})
        (entry,) = direct_reads.PARKED._by_engine[engine]
        info = entry.connection.info
        direct_reads.PARKED.give_back()  # what the ticker does each second
        assert engine.pool.checkedout() == direct_reads.PARKED.count(engine) == 0
        assert info[base_service.RETURNED_AT] == entry.since
        assert base_service.IDLE_SINCE not in info


def test_a_connection_parked_past_the_idle_time_is_pinged_through_the_pool(
    postgres_app, monkeypatch
):
    monkeypatch.setattr(base_service, "IDLE_PING_SECONDS", 0.0)  # every parked one is stale
    with postgres_app.app_context():
        first = fetch_first(BACKEND, {})  # the pool's one connection, parked
        assert first is not None
        terminate_backend(first["pid"])
        again = fetch_first(BACKEND, {})  # no error: back in the pool, pinged, replaced
        assert again is not None and again["pid"] != first["pid"]


def test_a_connection_parked_when_the_pool_is_disposed_of_is_closed(postgres_app):
    with postgres_app.app_context():
        engine = reads_engine()
        first = fetch_first(BACKEND, {})
        assert first is not None
        engine.dispose()
        again = fetch_first(BACKEND, {})
        assert again is not None and again["pid"] != first["pid"]
        assert _wait_gone(first["pid"]), "the old pool's parked connection was left open"


def test_a_forked_child_leaves_the_parents_parked_connections_alone(postgres_app):
    with postgres_app.app_context():
        engine = reads_engine()
        first = fetch_first(BACKEND, {})
        assert first is not None
        child = os.fork()
        if child == 0:  # pragma: no cover - the child's verdict is its exit status
            os._exit(0 if direct_reads.PARKED.count(engine) == 0 else 1)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert fetch_first(BACKEND, {}) == first, "the parent's connection still works"


def test_a_connection_read_on_while_its_pool_was_disposed_of_is_closed(postgres_app, monkeypatch):
    with postgres_app.app_context():
        engine = reads_engine()

        class DisposedMeanwhile(direct_reads.RawCursor):
            def execute(self, *args, **kwargs):
                engine.dispose()  # another thread's dispose() while this read runs
                return super().execute(*args, **kwargs)

        monkeypatch.setattr(direct_reads, "RawCursor", DisposedMeanwhile)
        first = fetch_first(BACKEND, {})
        monkeypatch.undo()
        assert first is not None
        again = fetch_first(BACKEND, {})
        assert again is not None and again["pid"] != first["pid"], "reused from the old pool"
        assert _wait_gone(first["pid"]), "the old pool's connection was left open"
