"""What the API's own liveness and status routes answer (inside the envelope)."""

from __future__ import annotations

from typing import Literal

from schemas.common import ResponseModel


class ApiHealth(ResponseModel):
    status: Literal["healthy"]


class ServiceStatus(ResponseModel):
    """The running service: name, version, environment and uptime."""

    name: str
    version: str
    environment: str
    started_at: str
    uptime_seconds: float
