"""Health probes. They answer in their own shape (top-level `status`), not the envelope."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from envelope import iso_timestamp

bp = Blueprint("health", __name__, url_prefix="/health")


@bp.get("")
def get_health() -> ResponseReturnValue:
    """Liveness: the process answers. Touches no database."""
    return {"status": "healthy", "timestamp": iso_timestamp()}
