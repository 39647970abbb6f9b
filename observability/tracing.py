"""OpenTelemetry tracing (decision 0101): spans for requests, SQL, Redis and outgoing HTTP.

Tracing is on only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
is set and `OTEL_SDK_DISABLED` is not. Otherwise this module imports nothing from OpenTelemetry
and installs nothing: no request hook, no SQLAlchemy listener, no patched client, so the request
path is the code it was without tracing.

When on, one tracer provider per process sends batches over OTLP/HTTP (protobuf). The spans come
from the maintained instrumentations: Flask (a server span per request, named after its route),
SQLAlchemy (a span per statement), Redis (a span per command), requests (Authlib's calls to Auth0)
and urllib (PyJWT's JWKS fetches). Gunicorn forks its workers after building the app
(`preload_app`): the SDK restarts its export thread and empties its queue in each child
(`os.register_at_fork`), so every worker exports its own spans; `gunicorn.conf.py` flushes a
worker's last spans when it exits. The other `OTEL_*` variables (headers, sampler, timeouts,
batch sizes, resource attributes) are read by the SDK itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, request

from models.base import db
from observability.logs import use_span_ids

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

logger = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"
INSTALL_HINT = "pip install -r requirements.txt, or the `tracing` extra"


class _Instrumentor(Protocol):
    """The part of an OpenTelemetry instrumentor used here."""

    @property
    def is_instrumented_by_opentelemetry(self) -> bool: ...

    def instrument(self, **kwargs: Any) -> None: ...

    def uninstrument(self, **kwargs: Any) -> None: ...


@dataclass
class _Tracing:
    provider: TracerProvider
    endpoint: str
    instrumentors: list[_Instrumentor]


_running: _Tracing | None = None


def traces_endpoint(config: Any) -> str | None:
    """Where spans are sent (the signal URL), or None when tracing is off."""
    if config.get("OTEL_SDK_DISABLED"):
        return None
    if explicit := config.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return str(explicit)
    base = config.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return f"{base}{TRACES_PATH}" if base else None


def init_tracing(app: Flask) -> bool:
    """Trace `app` when an OTLP endpoint is configured; True when its spans are exported."""
    endpoint = traces_endpoint(app.config)
    if endpoint is None:
        return False
    try:
        tracing = _start(app, endpoint)
        _instrument_app(app, tracing)
    except ImportError as exc:
        logger.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but %s is not installed (%s); tracing is off",
            exc.name,
            INSTALL_HINT,
        )
        return False
    return True


def shutdown_tracing() -> None:
    """Export the spans still queued, then stop: the shared clients are no longer traced."""
    global _running
    if _running is None:
        return
    _running.provider.shutdown()
    for instrumentor in _running.instrumentors:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    use_span_ids(None)
    _running = None


def _start(app: Flask, endpoint: str) -> _Tracing:
    """The process's provider, exporter and client instrumentations, built on the first call."""
    global _running
    if _running is not None:
        if _running.endpoint != endpoint:
            logger.warning("Spans already go to %s; %s is ignored", _running.endpoint, endpoint)
        return _running
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {
            "service.name": app.config["OTEL_SERVICE_NAME"],
            "service.version": app.config["APP_VERSION"],
            "deployment.environment.name": app.config["ENV_NAME"],
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    instrumentors = _instrument_clients(app, provider)
    use_span_ids(_span_ids_reader())
    _running = _Tracing(provider, endpoint, instrumentors)
    return _running


def _instrument_clients(app: Flask, provider: TracerProvider) -> list[_Instrumentor]:
    """SQLAlchemy, Redis, requests and urllib, process-wide (they patch classes and functions)."""
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.instrumentation.urllib import URLLibInstrumentor

    with app.app_context():
        engines = list(db.engines.values())
    # The engines this app already has; later ones are traced by the patched `create_engine`.
    # 0.66b1 declares SQLAlchemy < 2.1 and would refuse 2.1 with an error line: the engine events
    # it listens to are unchanged in 2.1, and tests/integration/test_tracing.py holds it to that.
    sqlalchemy = SQLAlchemyInstrumentor()
    sqlalchemy.instrument(engines=engines, tracer_provider=provider, skip_dep_check=True)
    clients: list[_Instrumentor] = [
        RedisInstrumentor(),
        RequestsInstrumentor(),
        URLLibInstrumentor(),
    ]
    for instrumentor in clients:
        instrumentor.instrument(tracer_provider=provider)
    return [sqlalchemy, *clients]


def _instrument_app(app: Flask, tracing: _Tracing) -> None:
    """A server span around each request, opened before every other request hook runs."""
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    FlaskInstrumentor.instrument_app(  # type: ignore[no-untyped-call]
        app,
        tracer_provider=tracing.provider,
        excluded_urls=app.config["OTEL_PYTHON_FLASK_EXCLUDED_URLS"],
        response_hook=_keep_path_only,
    )
    # Appended last, the span would open after the HTTPS, CSRF and rate-limit hooks: a request
    # one of them ends (a CSRF 403, an HTTPS redirect) would go untraced. It goes first instead.
    hooks = app.before_request_funcs[None]
    hooks.insert(0, hooks.pop(hooks.index(app._before_request)))  # type: ignore[attr-defined]


def _keep_path_only(span: Span, _status: str, _headers: list[tuple[str, str]]) -> None:
    """Like the access log, a span keeps the path, never the query (OAuth codes and states)."""
    if not request.query_string or not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    if "http.target" in attributes:
        span.set_attribute("http.target", request.path)
    if "url.query" in attributes:
        span.set_attribute("url.query", "")


def _span_ids_reader() -> Callable[[], tuple[str, str] | None]:
    from opentelemetry.trace import get_current_span

    def current_span_ids() -> tuple[str, str] | None:
        """The active span's trace and span ids, in the hex the tracing backends show."""
        context = get_current_span().get_span_context()
        if not context.is_valid:
            return None
        return format(context.trace_id, "032x"), format(context.span_id, "016x")

    return current_span_ids
