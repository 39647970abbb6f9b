"""The audit trail: one append-only row per security-relevant event.

Rows are only ever inserted: the ORM refuses to flush a change or a deletion of one (see the
`before_flush` guard below) and, on PostgreSQL, a trigger refuses UPDATE and DELETE outright.
Actor and subject are plain ids, not foreign keys: the trail outlives what it talks about.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import BigIntegerId, IdMixin, Model, UTCDateTime, utcnow


class AppendOnlyViolation(RuntimeError):
    """Something tried to change or delete an audit event."""


class AuditEvent(IdMixin, Model):
    """Who did what to whom, from where, when. `details` never holds a secret."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject_created", "subject_id", "created_at"),
        Index("ix_audit_events_type_created", "type", "created_at"),
    )

    type: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(BigIntegerId, default=None, index=True)
    subject_id: Mapped[int | None] = mapped_column(BigIntegerId, default=None)
    client_address: Mapped[str | None] = mapped_column(String(64), default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context: object, instances: object) -> None:
    """Audit events are append-only: a flush that would update or delete one fails."""
    for instance in (*session.dirty, *session.deleted):
        if isinstance(instance, AuditEvent) and (
            instance in session.deleted or session.is_modified(instance)
        ):
            raise AppendOnlyViolation("audit events are append-only")
