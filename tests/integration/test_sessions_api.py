"""Sessions and devices on the API (contract §9): list, end one, end the others, admins'
view; `last_used_at` written at most about once a minute."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import event, text, update

from models import AuditEvent, AuthSession, RefreshToken, db, utcnow
from services import audit_service, deferred, session_activity, session_service
from tests.factories import PASSWORD, browser_login, create_user, login, signed_in_user
from tests.mail_server import configured

pytestmark = pytest.mark.integration

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture(autouse=True)
def _fresh_activity_map():
    session_activity.forget()
    yield
    session_activity.forget()


def code(response):
    return response.json["error"]["code"]


def login_from(client, email, user_agent, address="127.0.0.1"):
    response = client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"User-Agent": user_agent},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 200, response.json
    data = response.json["data"]
    return {"Authorization": f"Bearer {data['access_token']}"}, data["refresh_token"]


def sessions_of(client, headers):
    response = client.get("/api/v1/auth/sessions", headers=headers)
    assert response.status_code == 200, response.json
    return response.json["data"]["items"]


def session_id_of(app, refresh_token):
    with app.app_context():
        return session_service.find_refresh_token(refresh_token).session_id


def set_session(app, session_id, **values):
    with app.app_context():
        db.session.execute(update(AuthSession).where(AuthSession.id == session_id).values(**values))
        db.session.commit()


def stored(app, session_id):
    with app.app_context():
        return db.session.get(AuthSession, session_id)


def test_list_shows_live_sessions_newest_first_with_device_and_current(app, client):
    user = create_user(app)
    first, first_refresh = login_from(client, user.email, FIREFOX, "203.0.113.7")
    second, _ = login_from(client, user.email, CHROME_MAC, "198.51.100.9")
    items = sessions_of(client, first)
    assert [item["device"] for item in items] == ["Chrome on Mac OS X", "Firefox on Linux"]
    assert [item["current"] for item in items] == [False, True]
    newest, oldest = items
    assert set(newest) == {
        "id", "kind", "created_at", "last_used_at", "ip", "user_agent", "device", "current"
    }  # fmt: skip
    assert oldest["id"] == session_id_of(app, first_refresh)
    assert (oldest["kind"], oldest["ip"], oldest["user_agent"]) == ("api", "203.0.113.7", FIREFOX)
    assert newest["ip"] == "198.51.100.9"
    assert oldest["created_at"].endswith("Z") and oldest["last_used_at"].endswith("Z")
    assert [item["current"] for item in sessions_of(client, second)] == [True, False]


def test_last_used_falls_back_to_created_at(app, client):
    user = create_user(app)
    headers, refresh = login_from(client, user.email, FIREFOX)
    session_id = session_id_of(app, refresh)
    set_session(app, session_id, last_used_at=None)
    session_activity._last_written[session_id] = float("inf")  # this process wrote just now
    (item,) = sessions_of(client, headers)
    assert item["last_used_at"] == item["created_at"]


def test_revoked_and_expired_sessions_are_not_listed(app, client):
    user = create_user(app)
    current, _ = login_from(client, user.email, FIREFOX)
    logged_out, _ = login_from(client, user.email, FIREFOX)
    client.post("/api/v1/auth/logout", json={}, headers=logged_out)
    _, expired_refresh = login_from(client, user.email, FIREFOX)
    with app.app_context():
        db.session.execute(
            update(RefreshToken)
            .where(RefreshToken.session_id == session_id_of(app, expired_refresh))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    old_browser = app.test_client()
    browser_login(old_browser, user.email)
    live_browser = app.test_client()
    browser_login(live_browser, user.email)
    with app.app_context():
        browser_ids = [
            row.id
            for row in db.session.query(AuthSession)
            .filter_by(user_id=user.id, kind="browser")
            .order_by(AuthSession.created_at)
        ]
    long_ago = utcnow() - timedelta(minutes=app.config["SESSION_LIFETIME_MINUTES"] + 2)
    set_session(app, browser_ids[0], created_at=long_ago, last_used_at=long_ago)
    items = sessions_of(client, current)
    assert [item["kind"] for item in items] == ["browser", "api"]
    assert items[0]["id"] == browser_ids[1]
    assert items[1]["current"] is True


def test_last_used_at_is_written_at_most_once_a_minute(app, client):
    user = create_user(app)
    headers, refresh = login_from(client, user.email, FIREFOX)
    session_id = session_id_of(app, refresh)
    client.get("/api/v1/users/me", headers=headers)
    first = stored(app, session_id).last_used_at
    assert first is not None and utcnow() - first < timedelta(seconds=30)

    two_minutes_ago = utcnow() - timedelta(minutes=2)
    set_session(app, session_id, last_used_at=two_minutes_ago)
    client.get("/api/v1/users/me", headers=headers)
    assert stored(app, session_id).last_used_at == two_minutes_ago, "this process wrote recently"

    session_activity.forget()  # another worker: it has no note of this session
    half_a_minute_ago = utcnow() - timedelta(seconds=30)
    set_session(app, session_id, last_used_at=half_a_minute_ago)
    client.get("/api/v1/users/me", headers=headers)
    assert stored(app, session_id).last_used_at == half_a_minute_ago, "the row is recent enough"

    session_activity.forget()
    set_session(app, session_id, last_used_at=two_minutes_ago)
    client.get("/api/v1/users/me", headers=headers)
    assert stored(app, session_id).last_used_at > two_minutes_ago


def test_stamps_wait_off_the_request_path_and_are_written_together(app, client):
    """While another request is in flight no request writes its stamp; the process falling idle
    writes them all in one transaction (decision 0140)."""
    user = create_user(app)
    sessions = [login_from(client, user.email, agent) for agent in (FIREFOX, CHROME_MAC)]
    ids = [session_id_of(app, refresh) for _, refresh in sessions]
    session_activity.forget()
    for session_id in ids:
        set_session(app, session_id, last_used_at=None)
    with app.app_context():
        engine = db.engine
    transactions: list[object] = []

    def began(connection: object) -> None:
        transactions.append(connection)

    event.listen(engine, "begin", began)
    deferred.PROCESS.started()  # a request of another thread, still in flight
    try:
        for headers, _ in sessions:
            assert client.get("/api/v1/users/me", headers=headers).status_code == 200
        assert [stored(app, session_id).last_used_at for session_id in ids] == [None, None]
        transactions.clear()
    finally:
        deferred.PROCESS.finished()
        event.remove(engine, "begin", began)
    assert all(stored(app, session_id).last_used_at is not None for session_id in ids)
    assert len(transactions) == 1


def test_the_activity_map_stays_bounded(app, monkeypatch):
    monkeypatch.setattr(session_activity, "MAP_LIMIT", 3)
    with app.app_context():
        session_activity._last_written.update({"old": -1e9, "older": -1e9, "oldest": -1e9})
        session_activity.note_use("a")
        assert set(session_activity._last_written) == {"a"}, "stale notes are pruned"
        session_activity.note_use("b")
        session_activity.note_use("c")
        session_activity.note_use("d")  # all recent: the map starts over
        assert set(session_activity._last_written) == {"d"}


def test_a_failed_stamp_never_fails_the_request(app, client, monkeypatch, caplog):
    user = create_user(app)
    headers, _ = login_from(client, user.email, FIREFOX)
    broken = session_activity.TOUCH.where(text("no_such_column = 1"))
    monkeypatch.setattr(session_activity, "TOUCH", broken)
    caplog.set_level("WARNING")
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200
    assert "session last-use stamps not written (1)" in caplog.text


def test_a_stamp_never_waits_long_behind_a_row_lock(app, client, is_postgres, caplog):
    if not is_postgres:
        pytest.skip("row locks need PostgreSQL")
    user = create_user(app)
    headers, refresh = login_from(client, user.email, FIREFOX)
    session_id = session_id_of(app, refresh)
    session_activity.forget()
    caplog.set_level("WARNING")
    with app.app_context(), db.engine.connect() as holder:
        holder.execute(
            text("SELECT id FROM auth_sessions WHERE id = :id FOR UPDATE"), {"id": session_id}
        )
        started = time.monotonic()
        assert client.get("/api/v1/users/me", headers=headers).status_code == 200
        assert time.monotonic() - started < 5
        holder.rollback()
    assert "session last-use stamps not written (1): OperationalError" in caplog.text


def test_ending_a_session_stops_its_tokens_at_once(app, client):
    user = create_user(app)
    mine, _ = login_from(client, user.email, FIREFOX)
    other, other_refresh = login_from(client, user.email, CHROME_MAC)
    other_id = session_id_of(app, other_refresh)
    response = client.delete(f"/api/v1/auth/sessions/{other_id}", headers=mine)
    assert response.status_code == 200, response.json
    assert response.json["data"] is None
    assert code(client.get("/api/v1/users/me", headers=other)) == "INVALID_TOKEN"
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": other_refresh})
    assert refreshed.status_code == 401
    assert [item["current"] for item in sessions_of(client, mine)] == [True]
    with app.app_context():
        event = db.session.query(AuditEvent).filter_by(type=audit_service.SESSION_ENDED).one()
        assert (event.actor_id, event.subject_id) == (user.id, user.id)
        assert event.details == {"session_id": other_id, "device": "Chrome on Mac OS X"}
        assert stored(app, other_id).revoked_reason == "ended_by_user"
    again = client.delete(f"/api/v1/auth/sessions/{other_id}", headers=mine)
    assert again.status_code == 404, "an ended session is gone"


def test_ending_the_current_session_signs_this_token_out(app, client):
    user = create_user(app)
    mine, refresh = login_from(client, user.email, FIREFOX)
    response = client.delete(f"/api/v1/auth/sessions/{session_id_of(app, refresh)}", headers=mine)
    assert response.status_code == 200
    assert client.get("/api/v1/users/me", headers=mine).status_code == 401


def test_another_users_or_an_unknown_session_is_not_found(app, client):
    owner = create_user(app)
    _, owner_refresh = login_from(client, owner.email, FIREFOX)
    intruder = signed_in_user(app, client)
    for session_id in (session_id_of(app, owner_refresh), "0" * 32):
        response = client.delete(f"/api/v1/auth/sessions/{session_id}", headers=intruder.headers)
        assert response.status_code == 404 and code(response) == "NOT_FOUND"
        assert response.json["error"]["message"] == "Session not found"
    assert stored(app, session_id_of(app, owner_refresh)).revoked_at is None
    not_an_id = client.delete("/api/v1/auth/sessions/not-an-id", headers=intruder.headers)
    assert not_an_id.status_code == 404


def test_an_admin_ends_anyones_session_and_lists_theirs(app, client):
    admin = signed_in_user(app, client, role="admin")
    user = create_user(app)
    user_headers, _ = login_from(client, user.email, FIREFOX)
    listed = client.get(f"/api/v1/users/{user.id}/sessions", headers=admin.headers)
    assert listed.status_code == 200
    (item,) = listed.json["data"]["items"]
    assert (item["device"], item["current"]) == ("Firefox on Linux", False)
    response = client.delete(f"/api/v1/auth/sessions/{item['id']}", headers=admin.headers)
    assert response.status_code == 200
    assert client.get("/api/v1/users/me", headers=user_headers).status_code == 401
    assert stored(app, item["id"]).revoked_reason == "ended_by_admin"
    with app.app_context():
        event = db.session.query(AuditEvent).filter_by(type=audit_service.SESSION_ENDED).one()
        assert (event.actor_id, event.subject_id) == (admin.user_id, user.id)
    empty = client.get(f"/api/v1/users/{user.id}/sessions", headers=admin.headers)
    assert empty.json["data"] == {"items": []}


def test_only_admins_list_a_users_sessions(app, client):
    admin = signed_in_user(app, client, role="admin")
    user = signed_in_user(app, client)
    forbidden = client.get(f"/api/v1/users/{user.user_id}/sessions", headers=user.headers)
    assert forbidden.status_code == 403 and code(forbidden) == "FORBIDDEN"
    missing = client.get("/api/v1/users/999999/sessions", headers=admin.headers)
    assert missing.status_code == 404


def test_revoke_others_keeps_only_the_current_session(app, client):
    user = create_user(app)
    mine, _ = login_from(client, user.email, FIREFOX)
    others = [login_from(client, user.email, CHROME_MAC)[0] for _ in range(2)]
    browser = app.test_client()
    browser_login(browser, user.email)
    response = client.post("/api/v1/auth/sessions/revoke-others", headers=mine)
    assert response.status_code == 200, response.json
    assert response.json["data"] == {"revoked": 3}
    assert client.get("/api/v1/users/me", headers=mine).status_code == 200
    for headers in others:
        assert client.get("/api/v1/users/me", headers=headers).status_code == 401
    assert browser.get("/auth/profile").status_code == 401, "the cookie ends too"
    with app.app_context():
        ended = db.session.query(AuditEvent).filter_by(type=audit_service.SESSION_ENDED).count()
        assert ended == 3
    again = client.post("/api/v1/auth/sessions/revoke-others", headers=mine)
    assert again.json["data"] == {"revoked": 0}


def test_a_browser_session_ended_by_the_api_loses_its_cookie(app, client):
    user = create_user(app)
    mine, _ = login_from(client, user.email, FIREFOX)
    browser = app.test_client()
    browser_login(browser, user.email)
    assert browser.get("/auth/profile").status_code == 200
    (browser_item,) = [item for item in sessions_of(client, mine) if item["kind"] == "browser"]
    client.delete(f"/api/v1/auth/sessions/{browser_item['id']}", headers=mine)
    assert browser.get("/auth/profile").status_code == 401


def test_sessions_need_a_token(client):
    assert client.get("/api/v1/auth/sessions").status_code == 401
    assert client.post("/api/v1/auth/sessions/revoke-others").status_code == 401
    assert client.delete(f"/api/v1/auth/sessions/{'0' * 32}").status_code == 401


def test_the_browser_session_lifetime_decides_expiry(app, client):
    user = create_user(app)
    mine, _ = login_from(client, user.email, FIREFOX)
    browser = app.test_client()
    browser_login(browser, user.email)
    with configured(app, SESSION_LIFETIME_MINUTES=1):
        (browser_item,) = [i for i in sessions_of(client, mine) if i["kind"] == "browser"]
        three_minutes_ago = utcnow() - timedelta(minutes=3)
        set_session(app, browser_item["id"], created_at=three_minutes_ago, last_used_at=None)
        assert [i["kind"] for i in sessions_of(client, mine)] == ["api"]
    login(client, user.email)  # still signs in
