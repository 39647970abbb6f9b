"""The user reads answered below Flask (`blueprints/shortcuts.py`, decision 0144): the same
status, headers and bytes as Flask's answer, counted and logged the same way, and Flask answering
every request that is not the common case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import update
from werkzeug.test import EnvironBuilder

from blueprints.rate_limits import LIMITED_ENDPOINTS
from blueprints.shortcuts import UserReads, plain_query, register_shortcuts
from models import AuthSession, User, db
from observability.request_context import RequestEnvelope
from services import session_activity, user_service
from tests.apps import dispose_engines, make_app
from tests.factories import SignedIn, create_user, signed_in_user
from tests.integration.test_metrics import count

pytestmark = pytest.mark.integration

ROUTE = "/api/v1/users/<id:user_id>"
ENVELOPE_TIMESTAMP = re.compile(rb'"timestamp":"[^"]*"\}$')


@pytest.fixture
def envelope(app: Flask) -> Iterator[RequestEnvelope]:
    envelope = app.extensions["request_envelope"]
    assert isinstance(envelope.shortcut, UserReads)
    yield envelope
    envelope.shortcut = UserReads(app)


@pytest.fixture
def views(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The endpoints whose Flask view ran."""
    ran: list[str] = []
    for endpoint in ("api.get_user", "api.list_users"):

        def counted(*args: object, _view=app.view_functions[endpoint], _name=endpoint, **kwargs):
            ran.append(_name)
            return _view(*args, **kwargs)

        monkeypatch.setitem(app.view_functions, endpoint, counted)
    return ran


@pytest.fixture
def people(app, client) -> tuple[SignedIn, SignedIn]:
    admin = signed_in_user(app, client, email="root@example.com", role="admin")
    user = signed_in_user(app, client, email="ann@example.com", name="Ann")
    return admin, user


def both_ways(client, envelope: RequestEnvelope, path: str, **kwargs: object):
    """The answer with the shortcut, then Flask's own (the shortcut off)."""
    shortcut = envelope.shortcut
    fast = client.get(path, **kwargs)
    envelope.shortcut = None
    try:
        slow = client.get(path, **kwargs)
    finally:
        envelope.shortcut = shortcut
    return fast, slow


def same_answer(fast, slow) -> None:
    """Equal status, header list (but the request id) and body (but the second it was written)."""
    assert fast.status == slow.status
    assert without_request_id(fast.headers) == without_request_id(slow.headers)
    assert {**fast.json, "timestamp": None} == {**slow.json, "timestamp": None}
    assert without_envelope_timestamp(fast.data) == without_envelope_timestamp(slow.data)


def without_envelope_timestamp(body: bytes) -> bytes:
    """The body with the envelope's own timestamp (its last member) left empty."""
    return ENVELOPE_TIMESTAMP.sub(b'"timestamp":""}', body)


def without_request_id(headers) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers.items() if name != "X-Request-ID"]


@pytest.mark.parametrize("reader", ["admin", "self"])
def test_the_common_case_is_answered_below_flask_as_flask_answers_it(
    client, envelope, views, people, reader
):
    admin, user = people
    caller = admin if reader == "admin" else user
    fast, slow = both_ways(
        client, envelope, f"/api/v1/users/{user.user_id}", headers=caller.headers
    )
    assert fast.status_code == 200
    assert fast.json["data"]["email"] == "ann@example.com"
    same_answer(fast, slow)
    assert views == ["api.get_user"]  # only the second request reached the view


def test_an_id_written_with_leading_zeros_is_read_as_the_route_reads_it(
    client, envelope, views, people
):
    admin, user = people
    fast, slow = both_ways(
        client, envelope, f"/api/v1/users/000{user.user_id}", headers=admin.headers
    )
    assert fast.status_code == 200
    same_answer(fast, slow)
    assert views == ["api.get_user"]


def test_the_answer_is_counted_under_the_route_and_logged_with_its_caller(
    app, client, envelope, people, caplog
):
    admin, user = people
    before = count(ROUTE, "200")
    with caplog.at_level("INFO", logger="app.access"):
        answer = client.get(f"/api/v1/users/{user.user_id}", headers=admin.headers)
    assert answer.status_code == 200
    assert count(ROUTE, "200") == before + 1
    [line] = [record for record in caplog.records if record.name == "app.access"]
    assert line.request_id == answer.headers["X-Request-ID"]
    assert (line.user_id, line.method, line.path, line.status) == (
        admin.user_id,
        "GET",
        f"/api/v1/users/{user.user_id}",
        200,
    )


def test_the_callers_session_is_stamped_as_used(app, client, envelope, views, people):
    admin, user = people
    session_activity.forget()
    with app.app_context():
        db.session.execute(update(AuthSession).values(last_used_at=None))
        db.session.commit()
    assert client.get(f"/api/v1/users/{user.user_id}", headers=user.headers).status_code == 200
    session_activity.flush()
    with app.app_context():
        stamps = dict(
            db.session.execute(db.select(AuthSession.user_id, AuthSession.last_used_at)).all()
        )
    assert stamps[user.user_id] is not None
    assert stamps[admin.user_id] is None
    assert views == []


# Requests the shortcut leaves to Flask: name -> (path, client arguments), from the path of the
# user's own record, the two callers and a deleted user's id.
FALLBACKS = {
    "no token": lambda own, admin, user, gone: (own, {}),
    "a bad token": lambda own, admin, user, gone: (
        own,
        {"headers": {"Authorization": "Bearer nonsense"}},
    ),
    "another scheme": lambda own, admin, user, gone: (
        own,
        {"headers": {"Authorization": f"Basic {user.access_token}"}},
    ),
    "another's record": lambda own, admin, user, gone: (
        f"/api/v1/users/{admin.user_id}",
        {"headers": user.headers},
    ),
    "nobody there": lambda own, admin, user, gone: (
        "/api/v1/users/987654",
        {"headers": admin.headers},
    ),
    "a deleted user": lambda own, admin, user, gone: (
        f"/api/v1/users/{gone}",
        {"headers": admin.headers},
    ),
    "past the largest id": lambda own, admin, user, gone: (
        "/api/v1/users/" + "9" * 30,
        {"headers": admin.headers},
    ),
    "a trailing slash": lambda own, admin, user, gone: (own + "/", {"headers": user.headers}),
    "a body": lambda own, admin, user, gone: (own, {"headers": user.headers, "json": {}}),
    "an origin": lambda own, admin, user, gone: (
        own,
        {"headers": {**user.headers, "Origin": "https://elsewhere.example"}},
    ),
    "HEAD": lambda own, admin, user, gone: (own, {"headers": user.headers, "method": "HEAD"}),
}


def deleted_user(app: Flask) -> int:
    gone = create_user(app, email="gone@example.com")
    with app.app_context():
        db.session.execute(
            update(User).where(User.id == gone.id).values(deleted_at=datetime.now(UTC))
        )
        db.session.commit()
    return gone.id


def same_error(fast, slow) -> None:
    assert fast.status == slow.status
    assert without_request_id(fast.headers) == without_request_id(slow.headers)
    if slow.is_json:
        assert {**fast.json, "timestamp": None} == {**slow.json, "timestamp": None}
    else:
        assert fast.data == slow.data


@pytest.mark.parametrize("case", list(FALLBACKS))
def test_flask_answers_what_is_not_the_common_case(app, client, envelope, people, case):
    admin, user = people
    own = f"/api/v1/users/{user.user_id}"
    path, kwargs = FALLBACKS[case](own, admin, user, deleted_user(app))
    assert envelope.shortcut.answer(EnvironBuilder(path=path, **kwargs).get_environ()) is None
    fast, slow = both_ways(client, envelope, path, **kwargs)
    same_error(fast, slow)


def test_a_revoked_session_is_refused_at_once(app, client, envelope, people):
    _admin, user = people
    path = f"/api/v1/users/{user.user_id}"
    assert client.get(path, headers=user.headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=user.headers).status_code == 200
    assert (
        envelope.shortcut.answer(EnvironBuilder(path=path, headers=user.headers).get_environ())
        is None
    )
    assert client.get(path, headers=user.headers).status_code == 401


def test_an_untrusted_host_and_plain_http_where_https_is_forced_go_to_flask(
    app, client, envelope, people, monkeypatch
):
    _admin, user = people
    path = f"/api/v1/users/{user.user_id}"
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["api.example.com"])
    for host, status in (("evil.example", 400), ("api.example.com", 200)):
        environ = EnvironBuilder(path=path, headers={**user.headers, "Host": host}).get_environ()
        assert (envelope.shortcut.answer(environ) is None) == (status != 200)
        fast, slow = both_ways(client, envelope, path, headers={**user.headers, "Host": host})
        assert fast.status_code == status
        same_error(fast, slow)
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", None)
    monkeypatch.setitem(app.config, "FORCE_HTTPS", True)
    fast, slow = both_ways(client, envelope, path, headers=user.headers)
    assert fast.status_code == 301
    same_error(fast, slow)
    fast, slow = both_ways(
        client, envelope, path, headers=user.headers, base_url="https://localhost"
    )
    assert fast.status_code == 200
    same_answer(fast, slow)


def test_an_error_in_the_shortcut_leaves_the_request_to_flask(
    client, envelope, views, people, monkeypatch
):
    admin, user = people
    calls = []
    real = user_service.read_for_caller

    def fails_once(**kwargs: object) -> object:
        calls.append(kwargs)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return real(**kwargs)

    monkeypatch.setattr(user_service, "read_for_caller", fails_once)
    answer = client.get(f"/api/v1/users/{user.user_id}", headers=admin.headers)
    assert answer.status_code == 200
    assert len(calls) == 2
    assert views == ["api.get_user"]


def test_tracing_leaves_the_shortcut_off(app):
    envelope = app.extensions["request_envelope"]
    shortcut = envelope.shortcut
    envelope.shortcut = None
    try:
        register_shortcuts(app, traced=True)
        assert envelope.shortcut is None
        register_shortcuts(app, traced=False)
        assert isinstance(envelope.shortcut, UserReads)
    finally:
        envelope.shortcut = shortcut


def test_a_fresh_apps_first_request_answered_here_carries_every_header(app, database, people):
    admin, user = people
    fresh = make_app(database.url)
    try:
        answer = fresh.test_client().get(f"/api/v1/users/{user.user_id}", headers=admin.headers)
    finally:
        dispose_engines(fresh)
    assert answer.status_code == 200
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


LISTS = [
    "",
    "page=1",
    "page=2&per_page=1&sort=-email",
    "q=ann&role=user&is_active=true",
    "sort=created_at&per_page=100",
]


@pytest.mark.parametrize("query", LISTS)
def test_an_administrators_list_page_is_answered_below_flask_as_flask_answers_it(
    client, envelope, views, people, query
):
    admin, _user = people
    fast, slow = both_ways(client, envelope, f"/api/v1/users?{query}", headers=admin.headers)
    assert fast.status_code == 200
    assert fast.json["data"]["items"]
    same_answer(fast, slow)
    assert views == ["api.list_users"]  # only the second request reached the view


LIST_FALLBACKS = {
    "a user, not an administrator": ("page=1", "user"),
    "a page that is not a number": ("page=abc", "admin"),
    "an unknown parameter": ("colour=red", "admin"),
    "a repeated parameter": ("page=1&page=2", "admin"),
    "an encoded search": ("q=ann%40example", "admin"),
    "a plus sign": ("q=a+b", "admin"),
    "an empty part": ("page=1&&per_page=2", "admin"),
    "a name without a value": ("page", "admin"),
}


@pytest.mark.parametrize("case", list(LIST_FALLBACKS))
def test_flask_answers_the_list_requests_that_are_not_the_common_case(
    client, envelope, people, case
):
    query, who = LIST_FALLBACKS[case]
    admin, user = people
    caller = admin if who == "admin" else user
    environ = EnvironBuilder(path="/api/v1/users", query_string=query, headers=caller.headers)
    assert envelope.shortcut.answer(environ.get_environ()) is None
    fast, slow = both_ways(client, envelope, f"/api/v1/users?{query}", headers=caller.headers)
    same_error(fast, slow)


def test_a_plain_query_is_read_as_flask_reads_it():
    assert plain_query("") == {}
    assert plain_query("page=2&sort=-id&q=") == {"page": "2", "sort": "-id", "q": ""}
    for refused in ("a=1&a=2", "a%20=1", "a=b+c", "=1", "a", "a=1&", "é=1"):
        assert plain_query(refused) is None, refused


def test_a_rate_limit_on_the_route_leaves_the_reads_to_flask(
    app, client, envelope, views, people, monkeypatch
):
    """A route that carries a limit (a decorator, or one for every route such as
    `RATELIMIT_DEFAULT`) is Flask-Limiter's to count: the shortcut asks the same registry
    (`LimitedEndpoints`) the narrowed limiter hooks ask."""
    admin, user = people
    limited = app.extensions[LIMITED_ENDPOINTS]
    monkeypatch.setattr(limited, "everywhere", True)  # as with RATELIMIT_DEFAULT
    monkeypatch.setattr(limited, "known", {})
    path = f"/api/v1/users/{user.user_id}"
    assert (
        envelope.shortcut.answer(EnvironBuilder(path=path, headers=admin.headers).get_environ())
        is None
    )
    assert client.get(path, headers=admin.headers).status_code == 200
    assert client.get("/api/v1/users", headers=admin.headers).status_code == 200
    assert views == ["api.get_user", "api.list_users"]


# Every request hook that applies to the API's routes, and why answering below Flask skips it
# safely. A hook added later fails the test below until blueprints/shortcuts.py is reviewed for
# it (decision 0144): either the shortcut does its work too, or leaves such requests to Flask.
HOOKS_THE_SHORTCUTS_ACCOUNT_FOR = {
    "before_request_funcs": [
        "skip_unlimited_routes.<locals>.check_when_limited",  # a limited route goes to Flask
        "CSRFProtect.init_app.<locals>.csrf_protect",  # GET is exempt
        "guard_request",  # host: checked; HTTPS redirect: goes to Flask; CSRF: GET is exempt
        "require_json_body",  # only requests with a body, which go to Flask
    ],
    "after_request_funcs": [
        "skip_unlimited_routes.<locals>.add_headers_when_limited",  # limited routes only
        "narrow_after_request.<locals>.hook_when_needed",  # Flask-Login: not on token APIs
        "narrow_after_request.<locals>.hook_when_needed",  # Flask-CORS: `Origin` goes to Flask
    ],
    "teardown_request_funcs": [
        "skip_unlimited_routes.<locals>.release_when_limited",  # limited routes only
    ],
}


def test_the_shortcuts_account_for_every_request_hook_of_the_api(app):
    for kind, expected in HOOKS_THE_SHORTCUTS_ACCOUNT_FOR.items():
        hooks = getattr(app, kind)
        applying = [hook.__qualname__ for key in (None, "api") for hook in hooks.get(key, [])]
        assert applying == expected, kind
    assert not any(app.url_value_preprocessors.get(key) for key in (None, "api"))
