"""The audit trail in the admin console (`/admin/audit`): filter, page through, and export the
filtered events as JSON lines. The export is a POST (it is audited: no GET changes anything)."""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context
from flask.typing import ResponseReturnValue

from blueprints.admin import bp, filled_arguments, parse
from blueprints.endpoint import form_fields
from blueprints.pages import render_page
from blueprints.security import current_principal
from models import utcnow
from schemas.audit import AuditEventQuery
from services import audit_service
from services.audit_service import EventFilter

AUDIT_PAGE = "admin/audit.html"
EXPORT_MIMETYPE = "application/x-ndjson"


@bp.get("/audit")
def list_audit_events() -> ResponseReturnValue:
    """The audit trail, newest first: by event type, user and time range."""
    arguments, query = filled_arguments(AuditEventQuery)
    context: dict[str, Any] = {
        "arguments": arguments,
        "event_types": audit_service.EVENT_TYPES,
        "describe": audit_service.describe,
    }
    if not isinstance(query, AuditEventQuery):
        return render_page(AUDIT_PAGE, 400, problems=query, result=None, **context)
    result = audit_service.list_events(
        actor=current_principal(),
        page=query.page,
        per_page=query.per_page,
        events=EventFilter.of(query),
    )
    return render_page(AUDIT_PAGE, result=result, **context)


@bp.post("/audit/export")
def export_audit_events() -> ResponseReturnValue:
    """Download the filtered events, oldest first, as JSON lines (streamed)."""
    fields = {name: value for name, value in form_fields().items() if value}
    query = parse(AuditEventQuery, fields)
    lines = audit_service.export(actor=current_principal(), events=EventFilter.of(query))
    filename = f"audit-events-{utcnow():%Y%m%dT%H%M%SZ}.jsonl"
    return Response(
        stream_with_context(lines),
        mimetype=EXPORT_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
