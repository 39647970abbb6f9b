"""`flask audit prune|export` (contract §10): retention is the one deletion the append-only
trail admits, and it is audited itself; exports are JSON lines."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from errors import ValidationError
from models import AuditEvent, db, utcnow
from models.audit_event import PRUNE_OPTION, AppendOnlyViolation
from services import audit_service
from services.base_service import unit_of_work
from tests.mail_server import configured

pytestmark = pytest.mark.integration

OLD_CUTOFF = "SELECT set_config('app.audit_prune_before', (now() - interval '10 days')::text, true)"


def run(app, *args):
    return app.test_cli_runner().invoke(args=["audit", *args])


def add_event(app, event_type, *, days_ago, subject_id=1):
    with app.app_context(), unit_of_work():
        event = audit_service.record(event_type, subject_id=subject_id)
        event.created_at = utcnow() - timedelta(days=days_ago)


def remaining(app):
    with app.app_context():
        return [
            (e.type, e.details)
            for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def test_prune_deletes_only_what_is_older_and_records_itself(app):
    add_event(app, "auth.login_failed", days_ago=400)
    add_event(app, "auth.logout", days_ago=364)
    result = run(app, "prune")
    assert result.exit_code == 0, result.output
    assert "Pruned 1 audit event(s) older than 365 day(s)." in result.output
    (kept, (pruned_type, details)) = remaining(app)
    assert kept[0] == "auth.logout"
    assert pruned_type == "audit.pruned"
    assert details["older_than_days"] == 365 and details["deleted"] == 1


def test_prune_takes_the_days_from_the_option_then_the_setting(app):
    add_event(app, "auth.logout", days_ago=40)
    add_event(app, "auth.logout", days_ago=20)
    with configured(app, AUDIT_RETENTION_DAYS=30):
        assert "Pruned 1 " in run(app, "prune").output
    assert "Pruned 1 " in run(app, "prune", "--older-than", "10").output
    assert [t for t, _ in remaining(app)] == ["audit.pruned", "audit.pruned"]


@pytest.mark.parametrize("days", ["0", "-5", "soon"])
def test_prune_refuses_less_than_a_day(app, days):
    add_event(app, "auth.logout", days_ago=2)
    result = run(app, "prune", "--older-than", days)
    assert result.exit_code == 2
    assert len(remaining(app)) == 1


def test_the_service_refuses_less_than_a_day_too(app):
    with app.app_context(), pytest.raises(ValidationError):
        audit_service.prune(actor=audit_service.policy.OPERATOR, older_than_days=0)


def test_other_statements_on_the_trail_are_refused_by_the_orm(app):
    add_event(app, "auth.logout", days_ago=400)
    with app.app_context():
        for statement in (
            delete(AuditEvent),
            update(AuditEvent).values(type="x"),
            update(AuditEvent).values(type="x").execution_options(**{PRUNE_OPTION: True}),
        ):
            with pytest.raises(AppendOnlyViolation):
                db.session.execute(statement)
            db.session.rollback()
    assert [t for t, _ in remaining(app)] == ["auth.logout"]


@pytest.mark.postgres_only
def test_the_database_admits_only_the_pruning(app, is_postgres):
    if not is_postgres:
        pytest.skip("PostgreSQL only")
    add_event(app, "auth.logout", days_ago=400)
    add_event(app, "auth.logout", days_ago=3)
    with app.app_context():
        attempts = [
            # No cutoff set in this transaction.
            [],
            # A cutoff less than a day old: nothing recent may go, whatever is set.
            ["SELECT set_config('app.audit_prune_before', now()::text, true)"],
            # An old cutoff does not cover a newer row.
            [OLD_CUTOFF],
        ]
        for setup in attempts:
            for statement in setup:
                db.session.execute(text(statement))
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text("DELETE FROM audit_events"))
            db.session.rollback()
        db.session.execute(text(OLD_CUTOFF))
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("UPDATE audit_events SET type = 'x'"))
        db.session.rollback()
    assert len(remaining(app)) == 2


def test_export_writes_json_lines_filtered_and_is_audited(app, tmp_path):
    add_event(app, "auth.login_failed", days_ago=3, subject_id=7)
    add_event(app, "auth.logout", days_ago=2, subject_id=7)
    add_event(app, "auth.logout", days_ago=1, subject_id=8)
    target = tmp_path / "all.jsonl"

    result = run(app, "export", str(target))
    assert result.exit_code == 0, result.output
    assert f"Exported 3 audit event(s) to {target}" in result.output
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(e["type"], e["subject_id"]) for e in lines] == [
        ("auth.login_failed", 7),
        ("auth.logout", 7),
        ("auth.logout", 8),
    ]
    assert set(lines[0]) >= {"id", "type", "actor_id", "subject_id", "created_at", "details"}

    since = (utcnow() - timedelta(days=2, hours=1)).isoformat()
    run(app, "export", str(target), "--user", "7", "--since", since, "--type", "auth.logout")
    assert [json.loads(line)["subject_id"] for line in target.read_text().splitlines()] == [7]
    exported = [d for t, d in remaining(app) if t == "audit.exported"]
    assert exported[0] is None
    assert exported[1] == {"user_id": 7, "event_type": "auth.logout", "since": exported[1]["since"]}


def test_export_pages_through_more_than_a_batch(app, tmp_path, monkeypatch):
    monkeypatch.setattr(audit_service, "EXPORT_BATCH", 2)
    for days in (5, 4, 3, 2, 1):
        add_event(app, "auth.logout", days_ago=days)
    target = tmp_path / "out.jsonl"
    assert run(app, "export", str(target)).exit_code == 0
    ids = [json.loads(line)["id"] for line in target.read_text().splitlines()]
    assert len(ids) == 5 and ids == sorted(ids)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--since", "yesterday"], "since:"), (["--user", "abc"], "user_id:")],
)
def test_export_refuses_bad_filters_and_writes_nothing(app, tmp_path, args, message):
    target = tmp_path / "bad.jsonl"
    result = run(app, "export", str(target), *args)
    assert result.exit_code == 1
    assert message in result.output
    assert not target.exists()


def test_export_to_standard_output(app):
    add_event(app, "auth.logout", days_ago=1)
    result = app.test_cli_runner().invoke(args=["audit", "export", "-"])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["type"] == "auth.logout"
    assert "Exported 1 audit event(s) to -." in result.stderr
