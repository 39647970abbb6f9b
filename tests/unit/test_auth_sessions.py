"""services/auth/sessions.py: ending one session ends it once, however many requests race for it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import update

from errors import NotFound
from models import AuthSession, db, utcnow
from services import audit_service
from services.auth import sessions, signin
from services.auth.authentication import BROWSER, Principal
from tests.factories import PASSWORD, create_user
from tests.unit.auth_support import audit_types, in_request, session_kinds

pytestmark = pytest.mark.unit


def signed_in(app) -> Principal:
    user = create_user(app)
    with in_request(app):
        principal = signin.login(email=user.email, password=PASSWORD, kind=BROWSER)
    assert isinstance(principal, Principal)
    return principal


def ended_events(app, user_id: int) -> int:
    return audit_types(app, user_id).count(audit_service.SESSION_ENDED)


def test_ending_a_live_session_revokes_it_and_records_it_once(app):
    principal = signed_in(app)
    with in_request(app):
        sessions.end(actor=principal, session_id=principal.session_id)
        with pytest.raises(NotFound):
            sessions.end(actor=principal, session_id=principal.session_id)
    assert session_kinds(app, principal.id) == [(BROWSER, True)]
    assert ended_events(app, principal.id) == 1


def test_a_session_revoked_between_the_read_and_the_update_answers_not_found_unaudited(
    app, monkeypatch
):
    principal = signed_in(app)
    may_act_for = sessions.policy.may_act_for

    def revoked_meanwhile(actor, user_id):
        # Another request ends the session after this one read it as live.
        with db.engine.begin() as connection:
            connection.execute(
                update(AuthSession)
                .where(AuthSession.id == principal.session_id)
                .values(revoked_at=utcnow(), revoked_reason=sessions.REVOKED_BY_OWNER)
            )
        return may_act_for(actor, user_id)

    monkeypatch.setattr(sessions.policy, "may_act_for", revoked_meanwhile)
    with in_request(app), pytest.raises(NotFound):
        sessions.end(actor=principal, session_id=principal.session_id)
    assert ended_events(app, principal.id) == 0


@pytest.mark.postgres_only
def test_two_concurrent_ends_of_one_session_succeed_once_and_audit_once(
    app, is_postgres, monkeypatch
):
    if not is_postgres:
        pytest.skip("PostgreSQL only")
    principal = signed_in(app)
    both_have_read = threading.Barrier(2, timeout=10)
    may_act_for = sessions.policy.may_act_for

    def after_both_reads(actor, user_id):
        both_have_read.wait()
        return may_act_for(actor, user_id)

    monkeypatch.setattr(sessions.policy, "may_act_for", after_both_reads)
    outcomes: list[str] = []

    def end_it() -> None:
        with in_request(app):
            try:
                sessions.end(actor=principal, session_id=principal.session_id)
                outcomes.append("ended")
            except NotFound:
                outcomes.append("not found")

    threads = [threading.Thread(target=end_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["ended", "not found"]
    assert ended_events(app, principal.id) == 1
