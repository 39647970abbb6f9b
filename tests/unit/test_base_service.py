"""The unit of work: one commit at the end, rollback on failure, conflicts as domain errors."""

import pytest

from errors import Conflict
from models import User, db
from services.base_service import transactional, unit_of_work

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
    @transactional
    def add(email):
        db.session.add(User(email=email, name=email))

    with app.app_context():
        with pytest.raises(RuntimeError), unit_of_work():
            add("a@example.com")
            add("b@example.com")
            raise RuntimeError("outer fails after inner units finished")
        assert count_users() == 0
        add("c@example.com")
        assert count_users() == 1
