"""The unit of work: one commit at the end, rollback on failure, conflicts as domain errors."""

import pytest

from errors import Conflict
from models import User, db
from services.base_service import read_only, reads_engine, unit_of_work

pytestmark = pytest.mark.unit


def count_users():
    db.session.remove()
    return db.session.query(User).count()


def test_the_block_commits_once_at_the_end(app):
    with app.app_context():
        with unit_of_work() as session:
            session.add(User(email="a@example.com", name="A"))
        assert count_users() == 1


def test_an_exception_rolls_everything_back(app):
    with app.app_context():
        with pytest.raises(RuntimeError), unit_of_work() as session:
            session.add(User(email="a@example.com", name="A"))
            session.flush()
            raise RuntimeError("halfway")
        assert count_users() == 0


def test_integrity_error_becomes_conflict_and_rolls_back(app):
    with app.app_context():
        with unit_of_work() as session:
            session.add(User(email="a@example.com", name="A"))
        with (
            pytest.raises(Conflict, match="Email already registered"),
            unit_of_work("Email already registered") as session,
        ):
            session.add(User(email="b@example.com", name="B"))
            session.add(User(email="a@example.com", name="A again"))
        assert count_users() == 1


def test_nested_units_join_the_outer_one(app):
    def add(email):
        with unit_of_work() as session:
            session.add(User(email=email, name=email))

    with app.app_context():
        with pytest.raises(RuntimeError), unit_of_work():
            add("a@example.com")
            add("b@example.com")
            raise RuntimeError("outer fails after inner units finished")
        assert count_users() == 0
        add("c@example.com")
        assert count_users() == 1


def driver_autocommit(connection):
    driver = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        return driver.autocommit
    return driver.isolation_level is None  # sqlite3's autocommit


def test_single_statement_reads_run_in_autocommit(app):
    """No BEGIN/ROLLBACK around a read; the main engine's connections stay transactional."""
    with app.app_context():
        with read_only() as connection:
            assert driver_autocommit(connection)
        with db.engine.connect() as connection:
            assert not driver_autocommit(connection)


@pytest.mark.postgres_only
def test_postgresql_reads_have_a_pool_of_their_own(app):
    """Its connections are created in autocommit: no isolation switch at checkout and return."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite reads share the main engine")
        assert reads_engine() is db.engines["reads"]
        assert reads_engine().pool is not db.engine.pool


def test_only_the_unit_of_work_commits():
    """Decision 0112: services write through `unit_of_work`, never a commit of their own."""
    import ast
    from pathlib import Path

    services = Path(__file__).resolve().parents[2] / "services"
    commits = [
        f"{path.relative_to(services)}:{node.lineno}"
        for path in sorted(services.rglob("*.py"))
        if path.name != "base_service.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]
    assert commits == []
