"""The audit trail: what is recorded, append-only, the admin list and the profile page."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from babel.dates import format_datetime
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from models import AuditEvent, TokenPurpose, User, db, utcnow
from models.audit_event import AppendOnlyViolation
from services import action_token_service, audit_service
from services.base_service import unit_of_work
from tests.factories import HTML, PASSWORD, browser_login, create_user, login, signed_in_user
from tests.mongo_data import mongoose_user, write_json_lines

pytestmark = pytest.mark.integration


def events(app, **where) -> list[AuditEvent]:
    with app.app_context():
        statement = select(AuditEvent).order_by(AuditEvent.id)
        for name, value in where.items():
            statement = statement.where(getattr(AuditEvent, name) == value)
        return list(db.session.scalars(statement))


def types(app) -> list[str]:
    return [event.type for event in events(app)]


def test_login_success_failure_and_logout_are_recorded(app, client):
    user = create_user(app)
    wrong = client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": "wrong-password-123"},
        headers={"X-Request-ID": "req-failed-1", "User-Agent": "pytest-agent"},
    )
    assert wrong.status_code == 401
    client.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x"})
    signed = login(client, user.email)
    client.post("/api/v1/auth/logout", json={}, headers=signed.headers)

    recorded = events(app)
    assert [event.type for event in recorded] == [
        "auth.login_failed",
        "auth.login_failed",
        "auth.login_succeeded",
        "auth.logout",
    ]
    failed = recorded[0]
    assert failed.subject_id == user.id
    assert failed.request_id == "req-failed-1"
    assert failed.user_agent == "pytest-agent"
    assert failed.client_address == "127.0.0.1"
    assert failed.details == {"reason": "INVALID_CREDENTIALS", "email": user.email}
    assert recorded[1].subject_id is None
    assert recorded[2].details == {"kind": "api", "method": "password", "mfa": False}
    # Never a secret.
    for event in recorded:
        assert PASSWORD not in str(event.details)
        assert "wrong-password-123" not in str(event.details)


def test_disabled_account_login_is_recorded(app, client):
    user = create_user(app, is_active=False)
    client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    (event,) = events(app)
    assert event.details["reason"] == "ACCOUNT_DISABLED"


def test_refresh_token_reuse_is_recorded(app, client):
    signed = signed_in_user(app, client)
    body = {"refresh_token": signed.refresh_token}
    assert client.post("/api/v1/auth/refresh", json=body).status_code == 200
    assert client.post("/api/v1/auth/refresh", json=body).status_code == 401
    (event,) = events(app, type="auth.refresh_token_reused")
    assert event.subject_id == signed.user_id


def test_password_change_and_admin_changes_are_recorded(app, client):
    admin = signed_in_user(app, client, role="admin")
    user = create_user(app)
    client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "another-Strong-pass-99"},
        headers=admin.headers,
    )
    client.patch(
        f"/api/v1/users/{user.id}",
        json={"role": "admin", "is_active": False, "password": "third-Strong-pass-77"},
        headers=admin.headers,
    )
    client.delete(f"/api/v1/users/{user.id}", headers=admin.headers)
    recorded = [(e.type, e.actor_id, e.subject_id, e.details) for e in events(app)][1:]
    assert recorded == [
        ("auth.password_changed", admin.user_id, admin.user_id, None),
        ("auth.password_changed", admin.user_id, user.id, None),
        ("user.role_changed", admin.user_id, user.id, {"from": "user", "to": "admin"}),
        ("user.active_changed", admin.user_id, user.id, {"is_active": False}),
        ("user.deleted", admin.user_id, user.id, None),
    ]


def test_failed_change_records_nothing(app, client):
    signed = signed_in_user(app, client)
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": "wrong", "new_password": "another-Strong-pass-99"},
        headers=signed.headers,
    )
    assert response.status_code == 400
    assert types(app) == ["auth.login_succeeded"]


def test_email_verification_and_reset_are_recorded(app, client):
    user = create_user(app)
    with app.test_request_context(), unit_of_work():
        row = db.session.get(User, user.id)
        verify = action_token_service.issue(row, TokenPurpose.VERIFY_EMAIL, timedelta(hours=1))
        reset = action_token_service.issue(row, TokenPurpose.RESET_PASSWORD, timedelta(hours=1))
    client.post("/api/v1/auth/verify-email", json={"token": verify})
    client.post(
        "/api/v1/auth/reset-password", json={"token": reset, "password": "brand-New-pass-5521"}
    )
    assert types(app) == ["auth.email_verified", "auth.password_reset"]


def test_events_are_append_only(app):
    with app.app_context():
        audit_service.record_alone("auth.logout", subject_id=1)
        event = db.session.scalars(select(AuditEvent)).one()
        event.type = "something.else"
        with pytest.raises(AppendOnlyViolation), unit_of_work():
            pass
        db.session.rollback()
        event = db.session.scalars(select(AuditEvent)).one()
        with pytest.raises(AppendOnlyViolation), unit_of_work() as session:
            session.delete(event)
        assert db.session.scalars(select(AuditEvent)).one().type == "auth.logout"


@pytest.mark.postgres_only
def test_database_refuses_updates_and_deletes(app, is_postgres):
    if not is_postgres:
        pytest.skip("PostgreSQL only")
    with app.app_context():
        audit_service.record_alone("auth.logout", subject_id=1)
        for statement in ("UPDATE audit_events SET type = 'x'", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()


def test_admin_lists_and_filters_events(app, client):
    admin = signed_in_user(app, client, role="admin")
    user = create_user(app)
    for _ in range(3):
        client.post("/api/v1/auth/login", json={"email": user.email, "password": "nope"})
    response = client.get("/api/v1/audit-events?per_page=2", headers=admin.headers)
    assert response.status_code == 200
    data = response.json["data"]
    assert data["pagination"] == {"page": 1, "per_page": 2, "total": 4, "pages": 2}
    assert [item["type"] for item in data["items"]] == ["auth.login_failed"] * 2
    assert set(data["items"][0]) == {
        "id",
        "type",
        "actor_id",
        "subject_id",
        "client_address",
        "request_id",
        "user_agent",
        "created_at",
        "details",
    }

    def total(query: str) -> int:
        answer = client.get(f"/api/v1/audit-events?{query}", headers=admin.headers)
        assert answer.status_code == 200, answer.json
        return answer.json["data"]["pagination"]["total"]

    assert total(f"user_id={user.id}") == 3
    assert total("type=auth.login_succeeded") == 1
    hour_ago = (utcnow() - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    in_an_hour = (utcnow() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert total(f"since={hour_ago}") == 4
    assert total(f"until={hour_ago}") == 0
    assert total(f"since={hour_ago}&until={in_an_hour}&page=2&per_page=3") == 4


def test_only_admins_list_events(app, client):
    signed = signed_in_user(app, client)
    assert client.get("/api/v1/audit-events", headers=signed.headers).status_code == 403
    assert client.get("/api/v1/audit-events").status_code == 401
    admin = signed_in_user(app, client, role="admin")
    response = client.get("/api/v1/audit-events?per_page=500", headers=admin.headers)
    assert response.status_code == 400


def test_profile_page_shows_own_recent_events(app, client):
    user = create_user(app)
    other = create_user(app)
    client.post("/api/v1/auth/login", json={"email": other.email, "password": "nope"})
    browser_login(client, user.email)
    page = client.get("/auth/profile", headers=HTML).get_data(as_text=True)
    assert "Recent security events" in page
    assert '<span class="event-label">Signed in</span>' in page
    assert "auth.login_succeeded" not in page  # words, not codes
    assert "Failed sign-in attempt" not in page  # the other user's


def test_profile_events_read_as_words_with_readable_dates(app, client):
    user = create_user(app)
    client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong-guess-12"})
    browser_login(client, user.email)
    with app.app_context():
        when = db.session.scalars(select(AuditEvent.created_at)).first()
    page = client.get("/auth/profile", headers=HTML).get_data(as_text=True)
    assert '<li class="event event-alert">' in page
    assert "Failed sign-in attempt" in page
    # Babel's medium date and time of the page's language (English here), in UTC.
    assert f"{format_datetime(when, 'medium', tzinfo=UTC, locale='en')} UTC" in page
    assert " · from 127.0.0.1" in page
    assert "auth.login_failed" not in page


def audit_event_type_constants() -> dict[str, str]:
    """Every event type audit_service defines: its upper-case constants named like `area.what`."""
    return {
        name: value
        for name, value in vars(audit_service).items()
        if name.isupper()
        and isinstance(value, str)
        and re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", value)
    }


def test_every_audit_event_type_has_words_for_people():
    constants = audit_event_type_constants()
    assert len(constants) >= 14
    unlabelled = sorted(set(constants.values()) - set(audit_service.EVENT_LABELS))
    assert unlabelled == [], f"add these to audit_service.EVENT_LABELS: {unlabelled}"
    assert set(constants.values()) == set(audit_service.EVENT_TYPES)


@pytest.mark.parametrize(
    ("event_type", "details", "words"),
    [
        ("user.role_changed", {"from": "user", "to": "admin"}, "Role changed from user to admin"),
        ("user.active_changed", {"is_active": False}, "Account disabled"),
        ("user.active_changed", {"is_active": True}, "Account enabled"),
        ("auth.password_changed", None, "Password changed"),
    ],
)
def test_events_are_described_with_their_details(event_type, details, words):
    assert audit_service.describe(event_type, details) == words


def test_import_run_is_recorded_once(app, tmp_path):
    source = write_json_lines(tmp_path / "users.json", [mongoose_user() for _ in range(3)])
    result = app.test_cli_runner().invoke(args=["migrate-data", "import-mongo", str(source)])
    assert result.exit_code == 0, result.output
    app.test_cli_runner().invoke(args=["migrate-data", "import-mongo", str(source), "--dry-run"])
    (event,) = events(app)
    assert event.type == "data.imported"
    assert event.details["inserted"] == 3 and event.details["source"] == "users.json"


def test_openapi_documents_the_new_routes(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/audit-events", "/api/v1/auth/mfa", "/api/v1/auth/2fa/enroll"):
        assert path in paths
