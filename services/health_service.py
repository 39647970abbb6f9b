"""Health checks for the probes: database, schema version, cache, process facts.

Every check is bounded: it runs in a daemon thread and the caller waits at most the configured
timeout, so a database or cache that hangs cannot hang a probe. Results carry states and numbers
only, never an exception text or a connection string (they may hold secrets); the exception type
goes to the log.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import redis
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy import Engine, inspect, text

from envelope import iso_timestamp
from models.base import db

logger = logging.getLogger(__name__)

PROCESS_STARTED_AT = datetime.now(UTC)
_PROCESS_STARTED_MONOTONIC = time.monotonic()

T = TypeVar("T")

HEALTHY, DEGRADED, UNHEALTHY, DISABLED = "healthy", "degraded", "unhealthy", "disabled"


class CheckTimeout(Exception):
    """A check did not finish within its time budget."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check, safe to show to anyone."""

    status: str
    latency_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape: `{"status", "latency_ms"?, ...details}`."""
        body: dict[str, Any] = {"status": self.status}
        if self.latency_ms is not None:
            body["latency_ms"] = self.latency_ms
        body.update(self.details)
        return body


def run_bounded(func: Callable[[], T], timeout_seconds: float) -> T:
    """Run `func` in a daemon thread; raise `CheckTimeout` if it takes longer than the budget."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = func()
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="health-check", daemon=True)
    worker.start()
    worker.join(timeout_seconds)
    if worker.is_alive():
        raise CheckTimeout(f"check exceeded {timeout_seconds}s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _query_database(engine: Engine, timeout_seconds: int) -> set[str] | None:
    """`SELECT 1`, then the applied Alembic revisions (None when the table is missing)."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Server-side bound too, so an abandoned check does not hold a query open.
            connection.execute(
                text("SELECT set_config('statement_timeout', :limit, true)"),
                {"limit": f"{int(timeout_seconds * 1000)}ms"},
            )
        connection.execute(text("SELECT 1"))
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(text("SELECT version_num FROM alembic_version"))
        return {row[0] for row in rows}


def _failure(check: str, exc: BaseException, started: float) -> CheckResult:
    logger.warning("health check %s failed: %s", check, type(exc).__name__)
    reason = "timeout" if isinstance(exc, CheckTimeout) else "unreachable"
    return CheckResult(UNHEALTHY, _elapsed_ms(started), {"error": reason})


def check_database(engine: Engine, *, timeout_seconds: int) -> tuple[CheckResult, set[str] | None]:
    """Whether the database answers, how fast, and which revisions it has applied."""
    started = time.perf_counter()
    try:
        revisions = run_bounded(lambda: _query_database(engine, timeout_seconds), timeout_seconds)
    except Exception as exc:
        return _failure("database", exc, started), None
    return CheckResult(HEALTHY, _elapsed_ms(started)), revisions


@functools.cache
def migration_heads(directory: str) -> frozenset[str]:
    """The newest revision(s) of the migration scripts, read once per process."""
    return frozenset(ScriptDirectory(str(Path(directory))).get_heads())


def check_schema(applied: set[str] | None, heads: frozenset[str]) -> CheckResult:
    """Whether the database is at the newest migration."""
    details: dict[str, Any] = {"current": sorted(applied or []), "head": sorted(heads)}
    if applied is None:
        return CheckResult(UNHEALTHY, details={**details, "error": "not_migrated"})
    if applied != set(heads):
        return CheckResult(UNHEALTHY, details={**details, "error": "not_at_head"})
    return CheckResult(HEALTHY, details=details)


def _ping_redis(url: str, timeout_seconds: int) -> None:
    client = redis.Redis.from_url(
        url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
    )
    try:
        client.ping()
    finally:
        client.close()


def check_cache(redis_url: str | None, *, timeout_seconds: int) -> CheckResult:
    """Redis answers a PING; `disabled` when no cache is configured."""
    if not redis_url:
        return CheckResult(DISABLED, details={"configured": False})
    started = time.perf_counter()
    try:
        run_bounded(lambda: _ping_redis(redis_url, timeout_seconds), timeout_seconds + 0.5)
    except Exception as exc:
        return _failure("cache", exc, started)
    return CheckResult(HEALTHY, _elapsed_ms(started))


def overall_status(database: CheckResult, cache: CheckResult) -> str:
    """Unhealthy without the database; only degraded without the cache (it is optional)."""
    if database.status != HEALTHY:
        return UNHEALTHY
    if cache.status == UNHEALTHY:
        return DEGRADED
    return HEALTHY


def uptime_seconds() -> float:
    """Seconds since this process imported the application."""
    return round(time.monotonic() - _PROCESS_STARTED_MONOTONIC, 3)


def blueprint_routes(app: Flask) -> list[dict[str, Any]]:
    """Every mounted blueprint with its prefix and its route templates."""
    routes: dict[str, list[str]] = {name: [] for name in app.blueprints}
    for rule in app.url_map.iter_rules():
        name = rule.endpoint.rpartition(".")[0]
        if name in routes:
            routes[name].append(rule.rule)
    return [
        {"name": name, "url_prefix": bp.url_prefix or "/", "routes": sorted(routes[name])}
        for name, bp in app.blueprints.items()
    ]


# --- What each probe answers: (body, HTTP status) --------------------------------------------


def _timeout() -> int:
    return int(current_app.config["HEALTH_CHECK_TIMEOUT_SECONDS"])


def _heads() -> frozenset[str]:
    return migration_heads(current_app.extensions["migrate"].directory)


def liveness() -> dict[str, Any]:
    """The process answers; nothing else is touched."""
    return {"status": HEALTHY, "timestamp": iso_timestamp()}


def readiness() -> tuple[dict[str, Any], int]:
    """Ready when the database answers and its schema is at the newest migration."""
    database, applied = check_database(db.engine, timeout_seconds=_timeout())
    schema = check_schema(applied, _heads()) if database.status == HEALTHY else None
    ready = database.status == HEALTHY and schema is not None and schema.status == HEALTHY
    checks = {"database": database.as_dict()}
    if schema is not None:
        checks["migrations"] = schema.as_dict()
    body = {"status": HEALTHY if ready else UNHEALTHY, "checks": checks}
    return {**body, "timestamp": iso_timestamp()}, 200 if ready else 503


def database_health() -> tuple[dict[str, Any], int]:
    """Database connectivity and round-trip latency."""
    database, _ = check_database(db.engine, timeout_seconds=_timeout())
    body = {**database.as_dict(), "timestamp": iso_timestamp()}
    return body, 200 if database.status == HEALTHY else 503


def detailed_health() -> tuple[dict[str, Any], int]:
    """Database and cache checks, version and uptime; a cache outage only degrades."""
    database, _ = check_database(db.engine, timeout_seconds=_timeout())
    cache = check_cache(current_app.config.get("REDIS_URL"), timeout_seconds=_timeout())
    status = overall_status(database, cache)
    body = {
        "status": status,
        "checks": {"database": database.as_dict(), "cache": cache.as_dict()},
        "version": current_app.config["APP_VERSION"],
        "uptime_seconds": uptime_seconds(),
        "timestamp": iso_timestamp(),
    }
    return body, 503 if status == UNHEALTHY else 200


def blueprints_health() -> dict[str, Any]:
    """Which blueprints are mounted, where, with which routes."""
    return {"status": HEALTHY, "blueprints": blueprint_routes(current_app)}


def status() -> dict[str, Any]:
    """Name, version, environment, start time and uptime of this process."""
    return {
        "name": current_app.config["APP_NAME"],
        "version": current_app.config["APP_VERSION"],
        "environment": current_app.config["ENV_NAME"],
        "started_at": iso_timestamp(PROCESS_STARTED_AT),
        "uptime_seconds": uptime_seconds(),
    }
