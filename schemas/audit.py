"""The audit trail as the API shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import Field, field_validator

from schemas.common import (
    NO_NUL,
    IsoDateTime,
    Page,
    PerPage,
    QueryModel,
    ResponseModel,
    RowId,
    Timestamp,
)
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


class AuditEventQuery(QueryModel):
    """Pagination and filters of the audit trail."""

    page: Page = 1
    per_page: PerPage = 20
    user_id: RowId | None = Field(None, description="events by or about this user")
    type: str | None = Field(None, max_length=64, pattern=NO_NUL, description="event type")
    since: IsoDateTime | None = Field(None, description="ISO 8601; events at or after")
    until: IsoDateTime | None = Field(None, description="ISO 8601; events before")

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """A time without a zone is taken as UTC; one whose UTC falls outside years 1 to 9999
        (`0001-01-01T00:00:00+01:00`) is refused rather than failing in the query."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("Must be a time between the years 1 and 9999 in UTC") from None
