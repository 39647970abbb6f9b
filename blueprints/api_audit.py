"""The audit trail under `/api/v1/audit-events` (administrators)."""

from __future__ import annotations

from blueprints.api import bp
from blueprints.endpoint import endpoint
from blueprints.security import current_principal
from schemas.audit import AuditEventPage, AuditEventQuery
from services import audit_service
from services.audit_service import EventFilter


@bp.get("/audit-events")
@endpoint(
    query=AuditEventQuery, response=AuditEventPage, auth=True, errors=(401, 403), tags=("audit",)
)
def list_audit_events(query: AuditEventQuery) -> object:
    """List security events, newest first (administrators): by user, type and time range."""
    page = audit_service.list_events(
        actor=current_principal(),
        page=query.page,
        per_page=query.per_page,
        events=EventFilter.of(query),
    )
    return {"items": page.items, "pagination": page.pagination}
