"""OpenTelemetry tracing against a local OTLP receiver (tests/otlp_receiver.py) started here:
a server span per request with child spans for SQL, Redis and outgoing HTTP, the same ids in the
JSON log lines, per-worker export under gunicorn, and nothing at all when no endpoint is set."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
import redis
from flask import Flask

from config import Config
from observability.logs import remove_app_handlers
from observability.tracing import shutdown_tracing, traces_endpoint
from services import auth0_service
from tests.apps import dispose_engines, make_app
from tests.factories import HTML, create_user, signed_in_user
from tests.integration.test_logging import stdout_of_app_handlers
from tests.oidc_provider import AUDIENCE, CLIENT_ID, CLIENT_SECRET, Provider, running_provider
from tests.ops_support import ROOT, gunicorn_servers, stop_process, subprocess_env
from tests.otlp_receiver import ReceivedSpan, Receiver, running_receiver

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/6"
SQLALCHEMY_SCOPE = "opentelemetry.instrumentation.sqlalchemy"
REDIS_SCOPE = "opentelemetry.instrumentation.redis"
URLLIB_SCOPE = "opentelemetry.instrumentation.urllib"
REQUESTS_SCOPE = "opentelemetry.instrumentation.requests"
# Export every 50 ms instead of every 5 s, so a test waits for its spans no longer than that.
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "50"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def traced(app: Flask, database, receiver: Receiver) -> Iterator[tuple[Flask, io.StringIO]]:
    """An app exporting its spans to the receiver, with the Redis cache on, logging JSON."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.fail("Redis is required at 127.0.0.1:6379 for the tracing tests")
    prefix = f"test-tracing-{uuid.uuid4().hex}:"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        env.setenv("OTEL_BSP_SCHEDULE_DELAY", FAST_EXPORT["OTEL_BSP_SCHEDULE_DELAY"])
        env.setenv("REDIS_URL", REDIS_URL)
        env.setenv("CACHE_KEY_PREFIX", prefix)
        env.setenv("RATELIMIT_KEY_PREFIX", f"{prefix}rl")
        env.setenv("LOG_LEVEL", "INFO")
        env.setenv("LOG_FORMAT", "json")
        application = make_app(database.url)
    try:
        yield application, stdout_of_app_handlers()
    finally:
        shutdown_tracing()
        remove_app_handlers()
        dispose_engines(application)
        store = redis.Redis.from_url(REDIS_URL)
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)


@pytest.fixture
def auth0(traced: tuple[Flask, io.StringIO], provider: Provider) -> Iterator[Provider]:
    """The traced app signing in with the local OIDC provider; its key cache emptied after."""
    application, _ = traced
    application.config.update(
        AUTH0_DOMAIN="127.0.0.1",
        AUTH0_AUDIENCE=AUDIENCE,
        CLIENT_ID=CLIENT_ID,
        CLIENT_SECRET=CLIENT_SECRET,
        AUTH0_ISSUER_BASE_URL=provider.issuer,
        AUTH0_AUTO_PROVISION=True,
    )
    yield provider
    for name in (auth0_service.EXTENSION, "auth0_oauth"):
        application.extensions.pop(name, None)


def server_span(spans: list[ReceivedSpan], route: str) -> ReceivedSpan | None:
    return next(
        (s for s in spans if s.kind == "SERVER" and s.attributes.get("http.route") == route), None
    )


def in_trace(spans: list[ReceivedSpan], trace_id: str, scope: str) -> list[ReceivedSpan]:
    return [span for span in spans if span.trace_id == trace_id and span.scope == scope]


def status_of(span: ReceivedSpan) -> int | None:
    attributes = span.attributes
    return attributes.get("http.status_code", attributes.get("http.response.status_code"))


def access_line(log: io.StringIO, path: str) -> dict[str, object]:
    lines = [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]
    return next(
        line for line in lines if line.get("logger") == "app.access" and line.get("path") == path
    )


USER_ROUTE = "/api/v1/users/<id:user_id>"


def traced_request(receiver: Receiver, route: str, *scopes: str) -> tuple[ReceivedSpan, list]:
    """The server span of `route` and every span of its trace, once each scope has one there."""
    spans = receiver.wait_for(
        lambda spans: (
            (server := server_span(spans, route)) is not None
            and all(in_trace(spans, server.trace_id, scope) for scope in scopes)
        )
    )
    server = server_span(spans, route)
    assert server is not None
    return server, [span for span in spans if span.trace_id == server.trace_id]


def test_an_api_request_is_a_server_span_with_sql_and_jwks_fetch_children(
    app, traced, auth0, receiver
):
    application, log = traced
    user = create_user(application, email="api@example.com")
    token = auth0.sign(sub="auth0|traced", email="api@example.com", email_verified=True)
    receiver.clear()

    response = application.test_client().get(
        f"/api/v1/users/{user.id}", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200, response.json
    server, trace = traced_request(receiver, USER_ROUTE, URLLIB_SCOPE, SQLALCHEMY_SCOPE)
    assert server.name == f"GET {USER_ROUTE}"
    assert status_of(server) == 200
    assert server.resource["service.name"] == application.config["APP_NAME"]
    children = [span for span in trace if span is not server]
    assert {span.parent_span_id for span in children} == {server.span_id}
    assert {span.kind for span in children} == {"CLIENT"}
    # PyJWT fetches the tenant's keys over urllib.
    (jwks,) = in_trace(trace, server.trace_id, URLLIB_SCOPE)
    assert "/.well-known/jwks.json" in str(
        jwks.attributes.get("http.url", jwks.attributes.get("url.full"))
    )
    statements = [
        str(span.attributes.get("db.statement", span.attributes.get("db.query.text")))
        for span in in_trace(trace, server.trace_id, SQLALCHEMY_SCOPE)
    ]
    assert any(statement.startswith("SELECT") for statement in statements)
    assert receiver.content_types == {"application/x-protobuf"}
    # The access line of that request names the same trace and the server span.
    line = access_line(log, f"/api/v1/users/{user.id}")
    assert (line["trace_id"], line["span_id"]) == (server.trace_id, server.span_id)


def test_a_signed_in_request_traces_its_redis_lookups(app, traced, receiver):
    application, _ = traced
    client = application.test_client()
    signed_in = signed_in_user(application, client, role="admin")
    receiver.clear()

    # The list checks the token in Redis (get-by-id checks it in its own SQL statement).
    response = client.get("/api/v1/users", headers=signed_in.headers)

    assert response.status_code == 200, response.json
    server, trace = traced_request(receiver, "/api/v1/users", REDIS_SCOPE)
    commands = in_trace(trace, server.trace_id, REDIS_SCOPE)
    assert all(span.parent_span_id == server.span_id for span in commands)
    assert all(span.kind == "CLIENT" for span in commands)
    # Redis keys and values are not in the spans: the arguments are replaced by `?`.
    for span in commands:  # a pipeline's span holds one line per command
        for command in str(span.attributes["db.statement"]).splitlines():
            name, *arguments = command.split()
            assert name in span.name.split()
            assert set(arguments) <= {"?"}


def test_a_request_refused_by_an_early_hook_is_still_traced(app, traced, receiver):
    """The server span opens before the HTTPS, CSRF and rate-limit hooks, which can end a
    request before its view: a CSRF refusal is a traced 403, with its log line in the trace."""
    application, log = traced
    receiver.clear()

    caller_trace = "0af7651916cd43dd8448eb211c80319c"
    response = application.test_client().post(
        "/auth/login",
        data={"email": "a@example.com", "password": "x"},
        headers={**HTML, "traceparent": f"00-{caller_trace}-b7ad6b7169203331-01"},
    )

    assert response.status_code == 403
    server, _ = traced_request(receiver, "/auth/login")
    assert status_of(server) == 403
    # The caller's W3C trace context is continued.
    assert (server.trace_id, server.parent_span_id) == (caller_trace, "b7ad6b7169203331")
    line = access_line(log, "/auth/login")
    assert (line["trace_id"], line["span_id"]) == (server.trace_id, server.span_id)


def test_the_auth0_sign_in_traces_its_requests_call_and_not_the_query(app, traced, auth0, receiver):
    application, _ = traced
    receiver.clear()

    response = application.test_client().get("/auth/auth0/login?next=/auth/profile", headers=HTML)

    assert response.status_code == 302
    route = "/auth/auth0/login"
    spans = receiver.wait_for(
        lambda spans: (
            (server := server_span(spans, route)) is not None
            and in_trace(spans, server.trace_id, REQUESTS_SCOPE)
        )
    )
    server = server_span(spans, route)
    assert status_of(server) == 302
    # The discovery document, fetched by Authlib over requests inside the request's span.
    outgoing = in_trace(spans, server.trace_id, REQUESTS_SCOPE)
    assert [span.parent_span_id for span in outgoing] == [server.span_id]
    assert outgoing[0].kind == "CLIENT"
    assert "next=" not in json.dumps(server.attributes)


def test_log_lines_outside_a_span_carry_no_trace_fields(traced):
    _application, log = traced
    log.truncate(0)
    log.seek(0)
    import logging

    logging.getLogger("tests.tracing").warning("no request here")

    line = json.loads(log.getvalue().splitlines()[-1])
    assert line["message"] == "no request here"
    assert "trace_id" not in line and "span_id" not in line


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"},
            "http://collector:4318/v1/traces",
        ),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/t"}, "http://c:4318/t"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, None),
    ],
)
def test_tracing_is_on_only_with_an_endpoint_and_not_disabled(environ, expected):
    assert traces_endpoint(vars(Config(environ))) == expected


def test_the_grpc_protocol_is_refused_with_a_clear_message():
    problems = Config({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}).validate()
    assert any("OTEL_EXPORTER_OTLP_PROTOCOL must be one of http/protobuf" in p for p in problems)


def test_the_service_name_defaults_to_the_app_name():
    assert Config({"APP_NAME": "accounts"}).OTEL_SERVICE_NAME == "accounts"
    assert Config({"APP_NAME": "a", "OTEL_SERVICE_NAME": "b"}).OTEL_SERVICE_NAME == "b"


OFF_PATH = """
import sys, threading, urllib.request
import redis, requests
from app import create_app
from models import db
application = create_app("testing")
assert application.test_client().get("/health").status_code == 200
with application.app_context():
    assert not db.engine.dispatch.before_cursor_execute, "an SQL listener"
# The app's own middleware (request_context.RequestEnvelope) wraps Flask's wsgi_app directly.
assert application.wsgi_app.wrapped.__func__ is type(application).wsgi_app, "a WSGI wrapper"
hooks = [f.__module__ for f in application.before_request_funcs[None]]
assert not any("opentelemetry" in module for module in hooks), hooks
clients = (requests.Session.send, urllib.request.OpenerDirector.open, redis.Redis.execute_command)
for patched in clients:
    assert not hasattr(patched, "__wrapped__"), patched
installers = ("opentelemetry.instrumentation", "opentelemetry.exporter")
loaded = [name for name in sys.modules if name.startswith(installers)]
assert loaded == [], loaded
assert not [t.name for t in threading.enumerate() if t.name.startswith("OtelBatch")]
if "opentelemetry.trace" in sys.modules:  # redis-py imports the SDK's metrics module when present
    from opentelemetry import trace
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
"""


def test_without_an_endpoint_no_instrumentation_is_installed(tmp_path):
    env = {
        name: value
        for name, value in subprocess_env(FLASK_CONFIG="testing").items()
        if not name.startswith("OTEL_")
    }
    env["TEST_DATABASE_URL"] = f"sqlite:///{tmp_path / 'off.db'}"
    result = subprocess.run(
        [sys.executable, "-c", OFF_PATH], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]


def test_the_off_path_check_sees_an_installed_instrumentation(tmp_path):
    """The script above fails when tracing is on: its checks can see what tracing installs."""
    env = subprocess_env(FLASK_CONFIG="testing", OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    env["TEST_DATABASE_URL"] = f"sqlite:///{tmp_path / 'on.db'}"
    result = subprocess.run(
        [sys.executable, "-c", OFF_PATH], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert result.returncode != 0
    assert "AssertionError" in result.stderr.decode()


WITHOUT_PACKAGES = """
import sys
class Missing:
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "opentelemetry":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Missing())
from app import create_app
assert create_app("testing").test_client().get("/health").status_code == 200
"""


def test_an_endpoint_without_the_packages_warns_and_starts_untraced(tmp_path):
    env = subprocess_env(FLASK_CONFIG="testing", OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    env["TEST_DATABASE_URL"] = f"sqlite:///{tmp_path / 'bare.db'}"
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_PACKAGES], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    output = result.stdout.decode()
    assert "OTEL_EXPORTER_OTLP_ENDPOINT is set but opentelemetry" in output
    assert "tracing is off" in output


# --- under gunicorn -------------------------------------------------------------------------


@pytest.mark.slow
def test_each_forked_gunicorn_worker_exports_its_spans_and_flushes_them_on_exit(tmp_path, receiver):
    receiver.clear()
    with gunicorn_servers(tmp_path) as start:
        # A 60 s export delay: only the worker's exit can send its spans in time.
        process, port = start(
            GUNICORN_WORKERS="2",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
            OTEL_BSP_SCHEDULE_DELAY="60000",
            OTEL_SERVICE_NAME="traced-gunicorn",
        )
        pids = set()
        for _ in range(8):
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/_test/slow?seconds=0", timeout=10
            ) as answer:
                pids.add(json.load(answer)["pid"])
        assert process.pid not in pids  # preload_app: built in the master, served by forks
        stop_process(process)

    spans = receiver.wait_for(lambda spans: sum(s.kind == "SERVER" for s in spans) >= 8)
    servers = [span for span in spans if span.kind == "SERVER"]
    assert len(servers) == 8
    assert {span.resource["service.name"] for span in servers} == {"traced-gunicorn"}
    assert {span.attributes["http.route"] for span in servers} == {"/_test/slow"}
    assert all(
        span.attributes.get("http.target", "/_test/slow") == "/_test/slow" for span in servers
    )
