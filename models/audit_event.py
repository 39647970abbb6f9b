"""The audit trail: one append-only row per security-relevant event.

Rows are only ever inserted: the ORM refuses to flush a change or a deletion of one, and to run
an UPDATE or DELETE statement on the table (the guards below); on PostgreSQL a trigger refuses
UPDATE and DELETE too. The one exception is retention (`audit_service.prune`): a DELETE statement
carrying `PRUNE_OPTION`, of rows older than the cutoff the same transaction put in `PRUNE_SETTING`
and at least a day old (migration 0013, decision 0131).
Actor and subject are plain ids, not foreign keys: the trail outlives what it talks about.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from models.base import BigIntegerId, IdMixin, Model, UTCDateTime, utcnow

# The execution option of the pruning DELETE, and the transaction-local PostgreSQL setting holding
# its cutoff (the trigger deletes nothing newer).
PRUNE_OPTION = "audit_prune"
PRUNE_SETTING = "app.audit_prune_before"


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


@event.listens_for(Session, "do_orm_execute")
def _refuse_audit_statements(state: ORMExecuteState) -> None:
    """No UPDATE statement on audit events, and no DELETE but the pruning one."""
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ is not AuditEvent:
        return
    if state.is_delete and state.execution_options.get(PRUNE_OPTION):
        return
    raise AppendOnlyViolation("audit events are append-only")
