"""`flask users create`: the same rules as the API."""

import pytest

from models import User, db
from tests.factories import PASSWORD, login

pytestmark = pytest.mark.integration


def run(app, *args, stdin=None):
    return app.test_cli_runner().invoke(args=["users", "create", *args], input=stdin)


def test_creates_an_admin_who_can_sign_in(app, client):
    result = run(
        app,
        "--email",
        "Boss@Example.com",
        "--name",
        "Boss",
        "--role",
        "admin",
        "--password",
        PASSWORD,
    )
    assert result.exit_code == 0, result.output
    assert "Created admin boss@example.com" in result.output
    session = login(client, "boss@example.com")
    assert client.get("/api/v1/users", headers=session.headers).status_code == 200


def test_prompts_for_the_password_twice_when_missing(app):
    result = run(app, "--email", "p@example.com", "--name", "P", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.query(User).filter_by(email="p@example.com").one().role == "user"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "bad", "--name", "N", "--password", PASSWORD], "email: Invalid email format"),
        (["--email", "a@example.com", "--name", "N", "--password", "short"], "password: Password"),
        (["--email", "a@example.com", "--name", "N", "--password", "password1234"], "too common"),
    ],
)
def test_refuses_what_the_api_refuses(app, args, message):
    result = run(app, *args)
    assert result.exit_code == 1
    assert message in result.output


def test_refuses_a_taken_email(app):
    assert (
        run(app, "--email", "t@example.com", "--name", "T", "--password", PASSWORD).exit_code == 0
    )
    result = run(app, "--email", "T@example.com", "--name", "T", "--password", PASSWORD)
    assert result.exit_code == 1
    assert "Email already registered" in result.output
