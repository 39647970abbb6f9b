"""The audit trail as the API shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import Field, field_validator

from schemas.common import NO_NUL, Page, PerPage, RequestModel, ResponseModel, RowId, Timestamp
from schemas.user import Pagination


class AuditEventRead(ResponseModel):
    id: int
    type: str
    actor_id: int | None
    subject_id: int | None
    client_address: str | None
    request_id: str | None
    user_agent: str | None
    created_at: Timestamp
    details: dict[str, Any] | None


class AuditEventPage(ResponseModel):
    """One page of audit events, newest first."""

    items: list[AuditEventRead]
    pagination: Pagination


class AuditEventQuery(RequestModel):
    """Pagination and filters of the audit trail."""

    page: Page = 1
    per_page: PerPage = 20
    user_id: RowId | None = Field(None, description="events by or about this user")
    type: str | None = Field(None, max_length=64, pattern=NO_NUL, description="event type")
    since: datetime | None = Field(None, description="ISO 8601; events at or after")
    until: datetime | None = Field(None, description="ISO 8601; events before")

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """A time without a zone is taken as UTC."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
