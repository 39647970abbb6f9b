"""Sign-in sessions as their owner (or an administrator) sees them (contract §9)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.common import ResponseModel, Timestamp

SessionKind = Literal["api", "browser"]


class SessionRead(ResponseModel):
    """One live sign-in: where and when it started, when it was last used (may lag a minute)."""

    id: str
    kind: SessionKind
    created_at: Timestamp
    last_used_at: Timestamp
    ip: str | None
    user_agent: str | None
    device: str = Field(description='the readable device, e.g. "Firefox on Linux"')
    current: bool = Field(description="true for the session this request came through")


class SessionList(ResponseModel):
    """Live sessions, newest first."""

    items: list[SessionRead]


class SessionsRevoked(ResponseModel):
    """How many sessions ended."""

    revoked: int
