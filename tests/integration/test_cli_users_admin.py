"""`flask users list|activate|deactivate|set-role|change-password|reset-2fa|delete|restore`:
the API's rules and audit trail from a shell (contract §10)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditEvent, User, UserMfa, db
from tests.factories import PASSWORD, create_user, login, signed_in_user
from tests.integration.test_mfa_api import enrol

pytestmark = pytest.mark.integration

NEW_PASSWORD = "fresh-Harbour-62-Lantern"


def run(app, *args, stdin=None):
    return app.test_cli_runner().invoke(args=["users", *args], input=stdin)


def user_row(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id)


def events(app, event_type):
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.type == event_type)).all()


def test_list_shows_a_filtered_table(app):
    create_user(app, email="ada@example.com", name="Ada Lovelace", role="admin")
    create_user(app, email="alan@example.com", name="Alan Turing", is_active=False)
    create_user(app, email="grace@example.com", name="Grace Hopper")

    everyone = run(app, "list")
    assert everyone.exit_code == 0, everyone.output
    lines = everyone.output.splitlines()
    assert lines[0].split() == ["id", "email", "name", "role", "active"]
    assert "Page 1 of 1; 3 user(s)." in lines[-1]

    found = run(app, "list", "--q", "A", "--role", "user", "--inactive")
    assert [line.split()[1] for line in found.output.splitlines()[1:-1]] == ["alan@example.com"]
    assert "no" in found.output.splitlines()[1].split()

    ordered = run(app, "list", "--sort", "-email", "--per-page", "2", "--active")
    emails = [line.split()[1] for line in ordered.output.splitlines()[1:-1]]
    assert emails == ["grace@example.com", "ada@example.com"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sort", "password_hash"], "sort: sort must be one of"),
        (["--per-page", "101"], "per_page:"),
        (["--page", "0"], "page:"),
    ],
)
def test_list_refuses_what_the_api_refuses(app, args, message):
    result = run(app, "list", *args)
    assert result.exit_code == 1
    assert message in result.output


def test_deactivate_ends_sessions_and_activate_lets_the_user_back(app, client):
    user = signed_in_user(app, client)
    result = run(app, "deactivate", user.email.upper())
    assert result.exit_code == 0, result.output
    assert f"Deactivated {user.email}" in result.output
    assert client.get("/auth/profile", headers=user.headers).status_code == 401
    assert not user_row(app, user.user_id).is_active

    assert run(app, "activate", str(user.user_id)).exit_code == 0
    assert login(client, user.email).user_id == user.user_id
    recorded = events(app, "user.active_changed")
    assert [e.details for e in recorded] == [{"is_active": False}, {"is_active": True}]
    assert all(e.actor_id is None and e.subject_id == user.user_id for e in recorded)


def test_set_role_and_the_last_active_admin_is_kept(app):
    admin = create_user(app, role="admin")
    user = create_user(app)
    assert run(app, "set-role", user.email, "admin").exit_code == 0
    assert user_row(app, user.id).role == "admin"
    assert run(app, "set-role", str(user.id), "user").exit_code == 0

    for args in (["set-role", admin.email, "user"], ["deactivate", admin.email]):
        result = run(app, *args)
        assert result.exit_code == 1
        assert "last active administrator" in result.output
    result = run(app, "delete", admin.email, "--yes")
    assert result.exit_code == 1 and "last active administrator" in result.output
    assert user_row(app, admin.id).role == "admin" and user_row(app, admin.id).is_active
    assert run(app, "set-role", user.email, "owner").exit_code == 2


def test_change_password_prompts_and_applies_the_password_rules(app, client):
    user = signed_in_user(app, client)
    weak = run(app, "change-password", user.email, "--password", "password1234")
    assert weak.exit_code == 1 and "too common" in weak.output

    result = run(app, "change-password", user.email, stdin=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert client.get("/auth/profile", headers=user.headers).status_code == 401
    assert login(client, user.email, NEW_PASSWORD).user_id == user.user_id
    assert [e.actor_id for e in events(app, "auth.password_changed")] == [None]


def test_reset_2fa_turns_it_off(app, client):
    user = signed_in_user(app, client)
    enrol(client, user)
    result = run(app, "reset-2fa", user.email)
    assert result.exit_code == 0, result.output
    assert "is off" in result.output
    with app.app_context():
        assert db.session.get(UserMfa, user.user_id) is None
    assert login(client, user.email, PASSWORD).user_id == user.user_id
    assert [e.subject_id for e in events(app, "mfa.reset")] == [user.user_id]


def test_delete_needs_confirmation_and_restore_brings_the_user_back(app, client):
    user = create_user(app)
    declined = run(app, "delete", user.email, stdin="n\n")
    assert declined.exit_code == 1
    assert user_row(app, user.id).deleted_at is None

    assert run(app, "delete", user.email, stdin="y\n").exit_code == 0
    deleted = user_row(app, user.id)
    assert deleted.deleted_at is not None and deleted.deleted_by is None
    assert run(app, "activate", user.email).exit_code == 1  # not a live user any more

    result = run(app, "restore", user.email)
    assert result.exit_code == 0, result.output
    assert user_row(app, user.id).deleted_at is None
    assert login(client, user.email).user_id == user.id
    assert [e.subject_id for e in events(app, "user.restored")] == [user.id]
    again = run(app, "restore", str(user.id))
    assert again.exit_code == 1 and "No deleted user" in again.output


def test_restore_is_refused_while_a_new_account_has_the_email(app):
    old = create_user(app, email="reused@example.com")
    assert run(app, "delete", str(old.id), "--yes").exit_code == 0
    create_user(app, email="reused@example.com")
    result = run(app, "restore", "reused@example.com")
    assert result.exit_code == 1
    assert "Another live account uses this email" in result.output
    assert user_row(app, old.id).deleted_at is not None


@pytest.mark.parametrize("command", ["activate", "deactivate", "reset-2fa", "restore"])
@pytest.mark.parametrize(
    ("identifier", "message"),
    [("999999", "No "), ("nobody@example.com", "No "), ("not an email", "neither a user id")],
)
def test_unknown_users_are_named(app, command, identifier, message):
    result = run(app, command, identifier)
    assert result.exit_code == 1
    assert message in result.output
