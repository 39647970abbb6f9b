"""Prometheus metrics: requests by route template, latency, in-flight requests, pool usage.

Under granian (serve.py) or gunicorn, `PROMETHEUS_MULTIPROC_DIR` (set by serve.py or
gunicorn.conf.py before the app is imported) switches prometheus_client to its multiprocess mode:
each worker writes its values to files there and `/metrics`, served by any worker, adds them up
across all of them, without the live gauges of workers that have died.
"""

from __future__ import annotations

import hmac
import os
import weakref
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Request, Response, current_app, request
from flask.typing import ResponseReturnValue
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy.engine import Engine

from errors import AuthenticationRequired
from models.base import db
from services import deferred, direct_reads

# Any process (a `flask db upgrade` before gunicorn, say) may import this module first.
if _multiproc_dir := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(_multiproc_dir).mkdir(parents=True, exist_ok=True)

UNMATCHED_ROUTE = "<unmatched>"
LABELS = ("method", "route", "status")

REQUESTS = Counter("http_requests_total", "HTTP requests answered.", LABELS)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from the first request hook to the response.",
    LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge(
    "http_requests_in_progress", "HTTP requests being handled now.", multiprocess_mode="livesum"
)
POOL_CHECKED_OUT = Gauge(
    "db_pool_connections_checked_out",
    "Database connections taken from the pool and not yet returned.",
    multiprocess_mode="livesum",
)

bp = Blueprint("metrics", __name__)


def route_label(answered: Request | None) -> str:
    """The matched route template (`/api/v1/users/<id:user_id>`), never the raw path."""
    rule = None if answered is None else answered.url_rule
    return rule.rule if rule is not None else UNMATCHED_ROUTE


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process took the number
        return True
    return True


def forget_dead_workers(directory: Path) -> None:
    """Drop the live gauges (in-flight requests, pool connections) of worker processes that no
    longer exist: granian, unlike gunicorn's child_exit hook, tells the app nothing when a worker
    dies or is killed. Counters and histograms of dead workers stay in the sums, as they should."""
    pids = {int(path.stem.rpartition("_")[2]) for path in directory.glob("gauge_live*_*.db")}
    for pid in pids:
        if not process_alive(pid):
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def exposition() -> bytes:
    """The text exposition: this process's registry, or every worker's files in multiprocess."""
    LIVE.sample()
    if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        forget_dead_workers(Path(directory))
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def require_scrape_token() -> None:
    """Refuse the scrape unless it carries `Authorization: Bearer $METRICS_TOKEN` (when set)."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return
    supplied = request.headers.get("Authorization", "")
    if not hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode()):
        raise AuthenticationRequired(headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


@bp.get("/metrics")
def get_metrics() -> ResponseReturnValue:
    """Prometheus scrape endpoint; a bearer token is required when `METRICS_TOKEN` is set."""
    require_scrape_token()
    return Response(exposition(), mimetype=CONTENT_TYPE_LATEST)


class LiveGauges:
    """This process's requests in flight and database connections checked out, written to their
    gauges by `services.deferred.PROCESS` (once a second, and when the process falls idle) and
    before a scrape, instead of on every request and every checkout.

    In multiprocess mode each write is a locked write into a shared-memory file: four per request
    (in flight up and down, a connection out and back), ~3 % of a worker's time on get-by-id
    (issue 18). Counted in memory instead, a busy worker's gauges are at most a second old, and an
    idle worker's are exact."""

    def __init__(self) -> None:
        self._engines: weakref.WeakSet[Engine] = weakref.WeakSet()

    def watch(self, engine: Engine) -> None:
        """Count `engine`'s checked-out connections too."""
        self._engines.add(engine)

    def sample(self) -> None:
        """Write the current values to the gauges."""
        IN_FLIGHT.set(deferred.PROCESS.in_flight)
        POOL_CHECKED_OUT.set(sum(_checked_out(engine) for engine in self._engines))


def _checked_out(engine: Engine) -> int:
    """Connections of `engine` in use: out of its pool, and not parked between direct reads."""
    checked_out = getattr(engine.pool, "checkedout", None)  # QueuePool; SQLite's pools have none
    if checked_out is None:
        return 0
    return max(int(checked_out()) - direct_reads.PARKED.count(engine), 0)


LIVE = LiveGauges()


def record(method: str, route: str, status: int, seconds: float) -> None:
    """Count and time a request that has its response."""
    labels = (method, route, str(status))
    children = _children.get(labels)
    if children is None:
        children = _children[labels] = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
    children[0].inc()
    children[1].observe(seconds)


# The counter and histogram of each label set (one lookup instead of two under their locks);
# routes x methods x statuses seen, a bounded set.
_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def register_metrics(app: Flask) -> None:
    """Mount `/metrics` and follow the pools' checkouts, when `METRICS_ENABLED`; requests are
    counted and timed by the request middleware (`request_context.RequestEnvelope`)."""
    if not app.config["METRICS_ENABLED"]:
        return
    with app.app_context():
        for engine in db.engines.values():
            LIVE.watch(engine)
    deferred.PROCESS.every_second(LIVE.sample)
    app.register_blueprint(bp)
