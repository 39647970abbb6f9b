"""Passwords hashed by the old Node.js service (bcryptjs) sign in and are upgraded to argon2id."""

import bcrypt
import pytest

from models import User, db
from tests.factories import PASSWORD, create_user, login

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_bcrypt_hash_signs_in_and_is_replaced_by_argon2id(app, client, prefix):
    user = create_user(app, email="legacy@example.com")
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    with app.app_context():
        row = db.session.get(User, user.id)
        row.password_hash = prefix + legacy[4:]
        db.session.commit()

    login(client, "legacy@example.com")

    with app.app_context():
        upgraded = db.session.get(User, user.id).password_hash
    assert upgraded.startswith("$argon2id$")
    login(client, "legacy@example.com")


def test_wrong_password_keeps_the_bcrypt_hash(app, client):
    user = create_user(app, email="legacy@example.com")
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    with app.app_context():
        db.session.get(User, user.id).password_hash = legacy
        db.session.commit()
    response = client.post(
        "/api/v1/auth/login", json={"email": "legacy@example.com", "password": "nope-nope-nope"}
    )
    assert response.status_code == 401
    with app.app_context():
        assert db.session.get(User, user.id).password_hash == legacy
