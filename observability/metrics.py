"""Prometheus metrics: requests by route template, latency, in-flight requests, pool usage.

Under granian (serve.py) or gunicorn, `PROMETHEUS_MULTIPROC_DIR` (set by serve.py or
gunicorn.conf.py before the app is imported) switches prometheus_client to its multiprocess mode:
each worker writes its values to files there and `/metrics`, served by any worker, adds them up
across all of them, without the live gauges of workers that have died.
"""

from __future__ import annotations

import bisect
import hmac
import math
import os
import threading
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
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from the first request hook to the response.",
    LABELS,
    buckets=LATENCY_BUCKETS,
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
    TALLIES.flush()
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
    gauges by `services.deferred.PROCESS` once a second and before a scrape, instead of on every
    request and every checkout (until decision 0143 also when the process fell idle: every few
    requests under load).

    In multiprocess mode each write is a locked write into a shared-memory file: four per request
    (in flight up and down, a connection out and back), ~3 % of a worker's time on get-by-id
    (issue 18). Counted in memory instead, another worker's gauges in a scrape are at most a
    second old; this worker's are exact."""

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


class RequestTallies:
    """Answered requests counted and timed in memory, per label set, and written to the request
    counter and the latency histogram by `services.deferred.PROCESS` once a second, and before a
    scrape by this process: one locked dict update a request instead of two
    shared-memory writes, each under its own lock and a process check (~4 % of a worker's time on
    get-by-id, decision 0143). Another worker's counts in a scrape are at most a second old, this
    worker's exact. A worker killed outright (SIGKILL, out of memory) loses at most its last
    second.

    A histogram has no public call for many observations at once, so the bucket counts are added
    to the child's `_sum` and `_buckets` values, which its `observe` adds one at a time to
    (a child without them is refused: the failure is logged each second, never a request's)."""

    def __init__(self, counter: Counter, histogram: Histogram, bounds: tuple[float, ...]) -> None:
        self.counter, self.histogram = counter, histogram
        self.bounds = (*bounds, math.inf)  # the histogram's upper bounds, +Inf last
        self._lock = threading.Lock()
        # label set -> [sum of seconds, count in bucket 0, count in bucket 1, ...]
        self._tallies: dict[tuple[str, str, int], list[float]] = {}
        # The counter and histogram child of each label set (routes x methods x statuses seen,
        # a bounded set).
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time a request that has its response."""
        bucket = bisect.bisect_left(self.bounds, seconds) + 1  # observe's first bound >= seconds
        key = (method, route, status)
        with self._lock:
            tally = self._tallies.get(key)
            if tally is None:
                tally = self._tallies[key] = [0.0] * (len(self.bounds) + 1)
            tally[0] += seconds
            tally[bucket] += 1

    def flush(self) -> None:
        """Add what was recorded since the last flush to the counter and the histogram."""
        with self._lock:
            if not self._tallies:
                return
            tallies, self._tallies = self._tallies, {}
        for key, tally in tallies.items():
            counter, histogram = self._children_of(key)
            counter.inc(sum(tally[1:]))
            histogram._sum.inc(tally[0])
            for bucket, count in enumerate(tally[1:]):
                if count:
                    histogram._buckets[bucket].inc(count)

    def _children_of(self, key: tuple[str, str, int]) -> tuple[Any, Any]:
        children = self._children.get(key)
        if children is None:
            labels = (key[0], key[1], str(key[2]))
            children = (self.counter.labels(*labels), self.histogram.labels(*labels))
            self._check(children[1])
            self._children[key] = children
        return children

    def _check(self, child: Any) -> None:
        """Refuse a histogram child that no longer keeps what `flush` writes to."""
        bounds = tuple(getattr(child, "_upper_bounds", ()))
        if bounds != self.bounds or len(getattr(child, "_buckets", ())) != len(bounds):
            raise RuntimeError(
                "prometheus_client's Histogram no longer keeps _upper_bounds and _buckets as "
                "observability.metrics.RequestTallies expects: update it"
            )


TALLIES = RequestTallies(REQUESTS, LATENCY, LATENCY_BUCKETS)
record = TALLIES.record


def register_metrics(app: Flask) -> None:
    """Mount `/metrics` and follow the pools' checkouts, when `METRICS_ENABLED`; requests are
    counted and timed by the request middleware (`request_context.RequestEnvelope`)."""
    if not app.config["METRICS_ENABLED"]:
        return
    with app.app_context():
        for engine in db.engines.values():
            LIVE.watch(engine)
    deferred.PROCESS.every_second(TALLIES.flush, on_idle=False)
    deferred.PROCESS.every_second(LIVE.sample, on_idle=False)
    app.register_blueprint(bp)
