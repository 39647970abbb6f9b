"""The REST API under `/api/v1`."""

from __future__ import annotations

from flask import Blueprint, request

from blueprints.endpoint import endpoint
from errors import UnsupportedMediaType
from schemas.health import ApiHealth, ServiceStatus
from services import health_service

bp = Blueprint("api", __name__, url_prefix="/api/v1")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@bp.before_app_request
def require_json_body() -> None:
    """A body sent anywhere under `/api/v1/` must be JSON (contract §1), even to unknown paths."""
    if request.method not in BODY_METHODS or not request.path.startswith(f"{bp.url_prefix}/"):
        return  # the reads (most requests) stop at the first test
    has_body = bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", ""
    )
    if has_body and not request.is_json:
        raise UnsupportedMediaType()


@bp.get("/health")
@endpoint(response=ApiHealth, tags=("health",))
def get_health() -> object:
    """API liveness in the envelope."""
    return {"status": "healthy"}


@bp.get("/status")
@endpoint(response=ServiceStatus, tags=("health",))
def get_status() -> object:
    """Name, version, environment and uptime of the running service."""
    return health_service.status()
