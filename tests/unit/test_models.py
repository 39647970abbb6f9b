"""The user model against the real schema (built by the migrations)."""

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from models import Role, User, db
from models.base import column_values

pytestmark = pytest.mark.unit


def make_user(**fields):
    values = {"email": "test@example.com", "name": "Test User"} | fields
    return User(**values)


def test_user_creation(app):
    """The seed's example: a user gets an id and keeps its fields."""
    with app.app_context():
        user = make_user()
        db.session.add(user)
        db.session.commit()

        assert user.id is not None
        assert user.email == "test@example.com"
        assert user.role == Role.USER
        assert user.is_active is True
        assert user.email_verified is False
        assert user.is_admin is False
        assert repr(user) == f"<User {user.id}>"


def test_timestamps_are_utc_aware_and_updated(app):
    with app.app_context():
        user = make_user()
        db.session.add(user)
        db.session.commit()
        db.session.expire_all()
        created = user.created_at
        assert created.tzinfo is not None and created.utcoffset().total_seconds() == 0
        user.name = "Renamed"
        db.session.commit()
        db.session.expire_all()
        assert user.updated_at >= created


def test_naive_datetimes_are_refused(app):
    with app.app_context():
        user = make_user(last_login_at=datetime(2026, 1, 1))  # noqa: DTZ001 - the point
        db.session.add(user)
        with pytest.raises(Exception, match="naive datetimes"):
            db.session.commit()
        db.session.rollback()


def test_email_must_be_stored_lower_case(app):
    with app.app_context():
        db.session.add(make_user(email="Ada@Example.com"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_unknown_role_is_refused(app):
    with app.app_context():
        db.session.add(make_user(role="superuser"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_live_emails_are_unique(app):
    with app.app_context():
        db.session.add(make_user())
        db.session.commit()
        db.session.add(make_user(name="Twin"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_soft_deleted_user_keeps_its_row_and_frees_the_email(app):
    with app.app_context():
        admin = make_user(email="admin@example.com", role=Role.ADMIN)
        user = make_user()
        db.session.add_all([admin, user])
        db.session.commit()

        user.mark_deleted(by_user_id=admin.id)
        db.session.commit()
        db.session.add(make_user(name="Newcomer"))
        db.session.commit()

        deleted = db.session.get(User, user.id)
        assert deleted.is_deleted
        assert deleted.deleted_by == admin.id
        assert deleted.deleted_at <= datetime.now(UTC)
        assert db.session.query(User).filter_by(email="test@example.com").count() == 2


def test_column_values_lists_every_column(app):
    with app.app_context():
        user = make_user()
        values = column_values(user)
        assert values["email"] == "test@example.com"
        assert {"id", "created_at", "deleted_by", "password_hash"} <= set(values)
