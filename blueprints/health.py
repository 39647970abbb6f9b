"""Health probes. They answer in their own shape (top-level `status`), not the envelope."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from services import health_service

bp = Blueprint("health", __name__, url_prefix="/health")


@bp.get("")
def get_health() -> ResponseReturnValue:
    """Liveness: the process answers. Touches no database."""
    return health_service.liveness()


@bp.get("/ready")
def get_readiness() -> ResponseReturnValue:
    """Readiness: the database answers and the schema is at the newest migration."""
    return health_service.readiness()


@bp.get("/database")
def get_database_health() -> ResponseReturnValue:
    """Database connectivity and latency."""
    return health_service.database_health()


@bp.get("/detailed")
def get_detailed_health() -> ResponseReturnValue:
    """Database, cache, version and uptime; a cache outage reports `degraded`."""
    return health_service.detailed_health()


@bp.get("/blueprints")
def get_blueprints() -> ResponseReturnValue:
    """The mounted blueprints and their routes."""
    return health_service.blueprints_health()
