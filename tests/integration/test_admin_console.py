"""The admin console at `/admin` (contract §10): administrators only, by the session cookie,
CSRF on every form, no change on GET, each action audited with the acting admin."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from markupsafe import Markup
from sqlalchemy import select

from models import AuditEvent, User, UserMfa, db
from tests.factories import HTML, PASSWORD, browser_login, create_user, csrf_token, login
from tests.integration.test_mfa_api import enrol
from tests.mail_server import first_link, wait_for_messages

pytestmark = pytest.mark.integration

ADMIN_EMAIL = "root@example.com"


@pytest.fixture
def admin(app, client):
    """An administrator signed in by the login form (the client keeps the cookie)."""
    user = create_user(app, email=ADMIN_EMAIL, name="Root", role="admin")
    browser_login(client, ADMIN_EMAIL)
    return user


def page(client, path, status=200):
    response = client.get(path, headers=HTML)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def post(client, path, data=None, *, token_page="/admin/users"):
    token = csrf_token(client, token_page)
    return client.post(path, data={**(data or {}), "csrf_token": token}, headers=HTML)


def flashes(client, path):
    return re.findall(r'class="flash flash-(\w+)">([^<]*)<', page(client, path))


def user_row(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id)


def audited(app, event_type):
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent).where(AuditEvent.type == event_type).order_by(AuditEvent.id)
        ).all()


# --- who may enter ----------------------------------------------------------------------------


GET_PATHS = [
    "/admin/",
    "/admin/users",
    "/admin/users/1",
    "/admin/users/1/confirm/delete",
    "/admin/audit",
]
POST_PATHS = [
    "/admin/users/1/active",
    "/admin/users/1/role",
    "/admin/users/1/two-factor/reset",
    "/admin/users/1/sessions/end",
    "/admin/users/1/password-reset",
    "/admin/users/1/delete",
    "/admin/users/1/restore",
    "/admin/audit/export",
]


@pytest.mark.parametrize("path", GET_PATHS)
def test_anonymous_browsers_are_sent_to_sign_in_and_json_clients_get_401(client, path):
    response = client.get(path, headers=HTML)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/auth/login?next=/admin")
    assert client.get(path, headers={"Accept": "application/json"}).status_code == 401


@pytest.mark.parametrize("path", GET_PATHS)
def test_signed_in_non_admins_get_the_403_page(app, client, path):
    user = create_user(app)
    browser_login(client, user.email)
    response = client.get(path, headers=HTML)
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", POST_PATHS)
def test_non_admin_posts_are_refused_and_change_nothing(app, client, path):
    user = create_user(app)
    browser_login(client, user.email)
    response = post(
        client, path, {"role": "admin", "is_active": "false"}, token_page="/auth/profile"
    )
    assert response.status_code == 403
    assert user_row(app, user.id).role == "user"


@pytest.mark.parametrize("path", POST_PATHS)
def test_every_form_needs_the_csrf_token(app, client, admin, path):
    target = create_user(app)
    path = path.replace("/1/", f"/{target.id}/")
    response = client.post(path, data={"is_active": "false", "role": "admin"}, headers=HTML)
    assert response.status_code == 403
    assert "security token" in response.get_data(as_text=True)
    assert user_row(app, target.id).is_active


def test_a_bearer_token_does_not_open_the_console(app, client):
    create_user(app, email="api-admin@example.com", role="admin")
    signed = login(client, "api-admin@example.com")
    response = client.get("/admin/users", headers=signed.headers)
    assert response.status_code == 401
    assert "browsers signed in" in response.json["error"]["message"]


def test_the_header_links_admins_to_the_console(app, client, admin):
    assert 'href="/admin/users"' in page(client, "/auth/profile")
    client.post(
        "/auth/logout", data={"csrf_token": csrf_token(client, "/auth/profile")}, headers=HTML
    )
    user = create_user(app)
    browser_login(client, user.email)
    assert 'href="/admin/users"' not in page(client, "/auth/profile")


# --- users ------------------------------------------------------------------------------------


def listed_emails(html):
    return re.findall(r"<td>([^<@]+@example\.com)</td>", html)


def test_user_list_searches_filters_sorts_and_pages(app, client, admin):
    create_user(app, email="ada@example.com", name="Ada Lovelace")
    create_user(app, email="alan@example.com", name="Alan Turing", is_active=False)
    create_user(app, email="grace@example.com", name="Grace Hopper", role="admin")
    assert client.get("/admin/", headers=HTML).headers["Location"] == "/admin/users"

    assert listed_emails(page(client, "/admin/users")) == [
        ADMIN_EMAIL,
        "ada@example.com",
        "alan@example.com",
        "grace@example.com",
    ]
    assert listed_emails(page(client, "/admin/users?q=LOVE")) == ["ada@example.com"]
    assert listed_emails(page(client, "/admin/users?role=admin&is_active=&q=")) == [
        ADMIN_EMAIL,
        "grace@example.com",
    ]
    assert listed_emails(page(client, "/admin/users?is_active=false")) == ["alan@example.com"]
    html = page(client, "/admin/users?sort=-email&per_page=2&page=2")
    assert listed_emails(html) == ["alan@example.com", "ada@example.com"]
    assert "Page 2 of 2 (4 in all)" in html
    assert 'rel="prev" href="/admin/users?sort=-email&amp;per_page=2&amp;page=1"' in html
    assert 'rel="next"' not in html
    assert "No user matches." in page(client, "/admin/users?q=nobody")


@pytest.mark.parametrize(
    "query",
    [
        "sort=password_hash",
        "per_page=1000",
        "page=0",
        "role=owner",
        "is_active=maybe",
        "q=a&q=b",
        "bogus=1",
    ],
)
def test_bad_list_parameters_show_the_problem_with_400(client, admin, query):
    html = page(client, f"/admin/users?{query}", status=400)
    assert "Please correct the following" in html
    assert "<table" not in html


def test_user_page_shows_the_account(app, client, admin):
    user = create_user(app, email="ada@example.com", name="Ada Lovelace")
    html = page(client, f"/admin/users/{user.id}")
    assert "<h1>Ada Lovelace</h1>" in html
    assert "ada@example.com" in html and "not confirmed" in html
    assert "Reset two-factor" not in html  # nothing to reset
    assert f'href="/admin/audit?user_id={user.id}"' in html
    page(client, "/admin/users/999999", status=404)
    page(client, f"/admin/users/{user.id}/confirm/explode", status=404)


def test_gets_change_nothing(app, client, admin):
    user = create_user(app)
    for path in ("/active", "/role", "/delete", "/two-factor/reset", "/sessions/end", "/restore"):
        assert client.get(f"/admin/users/{user.id}{path}", headers=HTML).status_code == 405
    page(client, f"/admin/users/{user.id}/confirm/delete")
    assert user_row(app, user.id).deleted_at is None
    assert client.get("/admin/audit/export", headers=HTML).status_code == 405


def test_deactivate_after_confirmation_and_activate(app, client, admin):
    user = create_user(app)
    signed = login(client, user.email)
    confirm = page(client, f"/admin/users/{user.id}/confirm/deactivate")
    assert "Deactivate this account?" in confirm
    assert 'name="is_active" value="false"' in confirm

    response = post(client, f"/admin/users/{user.id}/active", {"is_active": "false"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/users/{user.id}"
    assert flashes(client, f"/admin/users/{user.id}") == [("success", "Account deactivated.")]
    assert not user_row(app, user.id).is_active
    assert client.get("/auth/profile", headers=signed.headers).status_code == 401

    post(client, f"/admin/users/{user.id}/active", {"is_active": "true"})
    assert user_row(app, user.id).is_active
    events = audited(app, "user.active_changed")
    assert [(e.actor_id, e.subject_id, e.details) for e in events] == [
        (admin.id, user.id, {"is_active": False}),
        (admin.id, user.id, {"is_active": True}),
    ]


def test_change_role_is_audited(app, client, admin):
    user = create_user(app)
    post(client, f"/admin/users/{user.id}/role", {"role": "admin"})
    assert flashes(client, f"/admin/users/{user.id}") == [("success", "The role is now admin.")]
    assert user_row(app, user.id).role == "admin"
    (event,) = audited(app, "user.role_changed")
    assert (event.actor_id, event.details) == (admin.id, {"from": "user", "to": "admin"})


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("role", {"role": "owner"}),
        ("role", {}),
        ("role", {"role": "admin", "extra": "1"}),
        ("active", {"is_active": "perhaps"}),
    ],
)
def test_bad_forms_are_refused_with_400_and_change_nothing(app, client, admin, path, data):
    user = create_user(app)
    response = post(client, f"/admin/users/{user.id}/{path}", data)
    assert response.status_code == 400
    assert "Request refused" in response.get_data(as_text=True)
    row = user_row(app, user.id)
    assert (row.role, row.is_active) == ("user", True)


def test_the_last_active_admin_is_kept_with_an_error_message(app, client, admin):
    for path, data in (
        ("role", {"role": "user"}),
        ("active", {"is_active": "false"}),
        ("delete", {}),
    ):
        response = post(client, f"/admin/users/{admin.id}/{path}", data)
        assert response.status_code == 303
        assert flashes(client, f"/admin/users/{admin.id}") == [
            ("error", "The last active administrator cannot be demoted, disabled or deleted")
        ]
    row = user_row(app, admin.id)
    assert (row.role, row.is_active, row.deleted_at) == ("admin", True, None)


def test_reset_two_factor_after_confirmation(app, client, admin):
    user = create_user(app)
    signed = login(client, user.email)
    enrol(client, signed)
    assert "Reset two-factor" in page(client, f"/admin/users/{user.id}")
    assert "Reset two-factor authentication?" in page(
        client, f"/admin/users/{user.id}/confirm/reset-two-factor"
    )
    post(client, f"/admin/users/{user.id}/two-factor/reset")
    assert flashes(client, f"/admin/users/{user.id}") == [
        ("success", "Two-factor authentication is off and every session has ended.")
    ]
    with app.app_context():
        assert db.session.get(UserMfa, user.id) is None
    assert client.get("/auth/profile", headers=signed.headers).status_code == 401
    assert [e.actor_id for e in audited(app, "mfa.reset")] == [admin.id]


def test_end_all_sessions(app, client, admin):
    user = create_user(app)
    signed = login(client, user.email)
    assert "End every session?" in page(client, f"/admin/users/{user.id}/confirm/end-sessions")
    post(client, f"/admin/users/{user.id}/sessions/end")
    assert client.get("/auth/profile", headers=signed.headers).status_code == 401
    assert [(e.actor_id, e.subject_id) for e in audited(app, "user.sessions_ended")] == [
        (admin.id, user.id)
    ]


def test_send_a_password_reset_mail_with_the_usual_link(app, mail_app, client, smtp_server, admin):
    user = create_user(app, email="ada@example.com")
    post(client, f"/admin/users/{user.id}/password-reset")
    assert flashes(client, f"/admin/users/{user.id}") == [
        ("success", "A password reset link is on its way to the user.")
    ]
    (mail,) = wait_for_messages(smtp_server, 1)
    assert mail.envelope_to == ["ada@example.com"]
    assert "/auth/reset-password" in first_link(mail, "/auth/reset-password")
    assert [e.actor_id for e in audited(app, "user.password_reset_mailed")] == [admin.id]


def test_no_reset_mail_for_a_deactivated_account(app, mail_app, client, smtp_server, admin):
    user = create_user(app, is_active=False)
    post(client, f"/admin/users/{user.id}/password-reset")
    assert flashes(client, f"/admin/users/{user.id}")[0][0] == "error"
    assert smtp_server.messages == []
    assert audited(app, "user.password_reset_mailed") == []


def test_delete_after_confirmation_then_restore(app, client, admin):
    user = create_user(app, email="ada@example.com")
    assert "Delete this account?" in page(client, f"/admin/users/{user.id}/confirm/delete")
    post(client, f"/admin/users/{user.id}/delete")
    html = page(client, f"/admin/users/{user.id}")
    assert "Account deleted. It can be restored from this page." in html
    assert "Restore account" in html and "Delete account" not in html
    assert user_row(app, user.id).deleted_by == admin.id
    assert listed_emails(page(client, "/admin/users?q=ada")) == []
    page(client, f"/admin/users/{user.id}/confirm/delete", status=404)
    # Actions on a deleted account answer 404; restoring brings it back.
    assert post(client, f"/admin/users/{user.id}/sessions/end").status_code == 404
    post(client, f"/admin/users/{user.id}/restore")
    assert flashes(client, f"/admin/users/{user.id}") == [("success", "Account restored.")]
    assert login(client, "ada@example.com", PASSWORD).user_id == user.id
    assert [e.actor_id for e in audited(app, "user.restored")] == [admin.id]
    post(client, f"/admin/users/{user.id}/restore")
    assert flashes(client, f"/admin/users/{user.id}") == [("error", "This account is not deleted")]


# --- the lists' table -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["users", "audit"])
def test_the_lists_take_wrapper_empty_state_and_pager_from_one_macro(app, name):
    source, _, _ = app.jinja_env.loader.get_source(app.jinja_env, f"admin/{name}.html")
    assert "import data_table" in source and "{% call data_table(" in source
    assert "table-wrap" not in source and "pager(" not in source


def test_the_table_macro_shows_rows_or_the_empty_state_and_always_the_pager(app):
    data_table = app.jinja_env.get_template("admin/_table.html").module.data_table
    pagination = SimpleNamespace(page=1, pages=1, total=1)
    with app.test_request_context("/admin/users"):
        html = data_table(
            "admin.list_users",
            {"q": "ada"},
            SimpleNamespace(items=["row"], pagination=pagination),
            "1 found",
            "Nothing.",
            caller=lambda: Markup("<tbody><tr><td>row</td></tr></tbody>"),
        )
        empty = data_table(
            "admin.list_users",
            {},
            SimpleNamespace(items=[], pagination=SimpleNamespace(page=1, pages=0, total=0)),
            "0 found",
            "Nothing.",
            caller=lambda: Markup("<tbody></tbody>"),
        )
    assert '<div class="table-wrap">' in html and '<caption class="hint">1 found</caption>' in html
    assert "<td>row</td>" in html and "Nothing." not in html
    assert "<p>Nothing.</p>" in empty and "<table" not in empty
    assert "Page 1 of 1 (1 in all)" in html and "Page 1 of 1 (0 in all)" in empty


# --- audit trail ------------------------------------------------------------------------------


def test_audit_trail_filters_and_pages(app, client, admin):
    user = create_user(app)
    for _ in range(3):
        client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": "wrong-password-1"}
        )
    html = page(client, "/admin/audit")
    assert html.count("Failed sign-in attempt") == 3 and "Signed in" in html
    html = page(client, f"/admin/audit?type=auth.login_failed&user_id={user.id}&per_page=2")
    assert html.count("Failed sign-in attempt") == 2 and "Page 1 of 2 (3 in all)" in html
    assert "No event matches." in page(client, "/admin/audit?since=2999-01-01T00:00")
    assert "No event matches." in page(client, "/admin/audit?until=2000-01-01T00:00")
    assert page(client, "/admin/audit?type=&user_id=&since=&until=").count("<tr>") == 5


@pytest.mark.parametrize(
    "query", ["user_id=abc", "since=yesterday", "per_page=0", "type=" + "x" * 65]
)
def test_bad_audit_filters_show_the_problem_with_400(client, admin, query):
    html = page(client, f"/admin/audit?{query}", status=400)
    assert "Please correct the following" in html


def test_export_streams_the_filtered_events_as_json_lines_and_is_audited(app, client, admin):
    user = create_user(app)
    client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong-password-1"})
    assert "Export these events" in page(client, "/admin/audit?type=auth.login_failed")
    response = post(client, "/admin/audit/export", {"type": "auth.login_failed", "since": ""})
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert re.fullmatch(
        r'attachment; filename="audit-events-\d{8}T\d{6}Z\.jsonl"',
        response.headers["Content-Disposition"],
    )
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [(e["type"], e["subject_id"]) for e in lines] == [("auth.login_failed", user.id)]
    (event,) = audited(app, "audit.exported")
    assert (event.actor_id, event.details) == (admin.id, {"event_type": "auth.login_failed"})


def test_export_refuses_bad_filters(app, client, admin):
    response = post(client, "/admin/audit/export", {"user_id": "abc"})
    assert response.status_code == 400
    assert audited(app, "audit.exported") == []


def test_the_console_speaks_german(app, client, admin):
    user = create_user(app)
    response = client.get(
        f"/admin/users/{user.id}", headers={**HTML, "Accept-Language": "de-DE,de;q=0.9"}
    )
    html = response.get_data(as_text=True)
    assert "Alle Sitzungen beenden…" in html and "Konto löschen…" in html
    post(client, f"/admin/users/{user.id}/sessions/end")
    assert "Every session of this user has ended." in page(client, f"/admin/users/{user.id}")
