"""metrics.RequestTallies: requests counted in memory and written in one go reach the counter and
the histogram exactly as one `inc` and one `observe` a request would (decision 0143)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from observability import metrics
from observability.metrics import LABELS, LATENCY_BUCKETS, RequestTallies

pytestmark = pytest.mark.unit

ANSWERED = [
    ("GET", "/api/v1/users/<int:user_id>", 200, 0.0),
    ("GET", "/api/v1/users/<int:user_id>", 200, 0.005),  # on a bound: that bucket
    ("GET", "/api/v1/users/<int:user_id>", 200, 0.0050001),
    ("GET", "/api/v1/users/<int:user_id>", 404, 0.3),
    ("POST", "/api/v1/auth/login", 401, 10.0),
    ("POST", "/api/v1/auth/login", 401, 11.5),  # past the last bound: +Inf
    ("GET", "/health", 200, 0.02),
]


def _metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    counter = Counter("requests", "answered", LABELS, registry=registry)
    histogram = Histogram("latency", "seconds", LABELS, buckets=LATENCY_BUCKETS, registry=registry)
    return counter, histogram


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def test_the_tallies_write_what_one_observation_a_request_writes():
    direct, batched = CollectorRegistry(), CollectorRegistry()
    counter, histogram = _metrics(direct)
    for method, route, status, seconds in ANSWERED:
        counter.labels(method, route, str(status)).inc()
        histogram.labels(method, route, str(status)).observe(seconds)
    tallies = RequestTallies(*_metrics(batched), LATENCY_BUCKETS)
    for answered in ANSWERED:
        tallies.record(*answered)
    assert _samples(batched) == {}, "nothing is written before the flush"
    tallies.flush()
    tallies.flush()  # nothing new: nothing added twice
    assert _samples(batched) == _samples(direct)


def test_a_scrape_writes_what_is_waiting():
    route = "/test/tallied-before-a-scrape"
    metrics.TALLIES.record("GET", route, 200, 0.001)
    assert f'route="{route}"'.encode() in metrics.exposition()


def test_a_histogram_without_the_expected_buckets_is_refused():
    tallies = RequestTallies(*_metrics(CollectorRegistry()), (1.0,))  # not the histogram's
    tallies.record("GET", "/health", 200, 0.5)
    with pytest.raises(RuntimeError, match="RequestTallies"):
        tallies.flush()
