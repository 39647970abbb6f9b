"""The audit trail: record security events, list them (administrators), show a user theirs.

`record` adds the event to the caller's unit of work, so it commits with the change it records
or not at all. `record_alone` commits on its own: for failures (a wrong password) whose own
transaction rolls back. There is deliberately no update or delete here: the trail is append-only
(models/audit_event.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import BigInteger, ColumnElement, func, literal, or_, select

from models import AuditEvent, db
from services import policy
from services.base_service import read_only, unit_of_work
from services.policy import Actor

# Event types (docs/api.md lists them).
LOGIN_SUCCEEDED = "auth.login_succeeded"
LOGIN_FAILED = "auth.login_failed"
LOGOUT = "auth.logout"
REFRESH_TOKEN_REUSED = "auth.refresh_token_reused"  # noqa: S105 - an event name
PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 - an event name
PASSWORD_RESET = "auth.password_reset"  # noqa: S105 - an event name
EMAIL_VERIFIED = "auth.email_verified"
MFA_ENABLED = "mfa.enabled"
MFA_DISABLED = "mfa.disabled"
MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used"
USER_ROLE_CHANGED = "user.role_changed"
USER_ACTIVE_CHANGED = "user.active_changed"
USER_DELETED = "user.deleted"
DATA_IMPORTED = "data.imported"
PASSKEY_ADDED = "passkey.added"
PASSKEY_RENAMED = "passkey.renamed"
PASSKEY_REMOVED = "passkey.removed"
PASSKEY_USED = "passkey.used"
PASSKEY_SIGN_COUNT_REGRESSED = "passkey.sign_count_regressed"

EVENT_TYPES = (
    LOGIN_SUCCEEDED,
    LOGIN_FAILED,
    LOGOUT,
    REFRESH_TOKEN_REUSED,
    PASSWORD_CHANGED,
    PASSWORD_RESET,
    EMAIL_VERIFIED,
    MFA_ENABLED,
    MFA_DISABLED,
    MFA_RECOVERY_CODE_USED,
    USER_ROLE_CHANGED,
    USER_ACTIVE_CHANGED,
    USER_DELETED,
    DATA_IMPORTED,
    PASSKEY_ADDED,
    PASSKEY_RENAMED,
    PASSKEY_REMOVED,
    PASSKEY_USED,
    PASSKEY_SIGN_COUNT_REGRESSED,
)
PROFILE_EVENTS = 10

# What a person reads on their profile for each event type (a test checks every type has one).
EVENT_LABELS = {
    LOGIN_SUCCEEDED: "Signed in",
    LOGIN_FAILED: "Failed sign-in attempt",
    LOGOUT: "Signed out",
    REFRESH_TOKEN_REUSED: "A used sign-in token came back: every session was ended to be safe",
    PASSWORD_CHANGED: "Password changed",
    PASSWORD_RESET: "Password reset with an emailed link",
    EMAIL_VERIFIED: "Email address confirmed",
    MFA_ENABLED: "Two-factor authentication turned on",
    MFA_DISABLED: "Two-factor authentication turned off",
    MFA_RECOVERY_CODE_USED: "A recovery code was used",
    USER_ROLE_CHANGED: "Role changed",
    USER_ACTIVE_CHANGED: "Account enabled or disabled",
    USER_DELETED: "Account deleted",
    DATA_IMPORTED: "Account imported from the previous service",
    PASSKEY_ADDED: "Passkey added",
    PASSKEY_RENAMED: "Passkey renamed",
    PASSKEY_REMOVED: "Passkey removed",
    PASSKEY_USED: "Signed in with a passkey",
    PASSKEY_SIGN_COUNT_REGRESSED: "A passkey's signature counter went back: it may have been "
    "copied, and the sign-in was refused",
}
# Events worth a second look by the account's owner (shown highlighted).
ALERT_EVENTS = frozenset(
    {LOGIN_FAILED, REFRESH_TOKEN_REUSED, MFA_RECOVERY_CODE_USED, PASSKEY_SIGN_COUNT_REGRESSED}
)


def record(
    event_type: str,
    *,
    actor_id: int | None = None,
    subject_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to the current unit of work (it commits with the change it records)."""
    audit_event = AuditEvent(
        type=event_type, actor_id=actor_id, subject_id=subject_id, details=details or None
    )
    if has_request_context():
        audit_event.client_address = (request.remote_addr or "")[:64] or None
        audit_event.user_agent = (request.user_agent.string or "")[:255] or None
        audit_event.request_id = g.get("request_id")
    db.session.add(audit_event)
    return audit_event


def record_alone(
    event_type: str,
    *,
    actor_id: int | None = None,
    subject_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record an event in a transaction of its own (after the failed one was rolled back)."""
    with unit_of_work():
        record(event_type, actor_id=actor_id, subject_id=subject_id, details=details)


@dataclass(frozen=True)
class AuditPage:
    """One page of events and the numbers to page through the rest."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pagination(self) -> dict[str, int]:
        """The contract's pagination object."""
        return {
            "page": self.page,
            "per_page": self.per_page,
            "total": self.total,
            "pages": math.ceil(self.total / self.per_page),
        }


def list_events(
    *,
    actor: Actor,
    page: int,
    per_page: int,
    user_id: int | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditPage:
    """Events newest first (administrators), filtered by user (actor or subject), type, time."""
    policy.ensure_admin(actor)
    conditions: list[ColumnElement[bool]] = []
    if user_id is not None:
        conditions.append(or_(AuditEvent.subject_id == user_id, AuditEvent.actor_id == user_id))
    if event_type is not None:
        conditions.append(AuditEvent.type == event_type)
    if since is not None:
        conditions.append(AuditEvent.created_at >= since)
    if until is not None:
        conditions.append(AuditEvent.created_at < until)
    columns = AuditEvent.__table__.columns
    with read_only() as connection:
        total = connection.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
        items = list(
            connection.execute(
                select(*columns)
                .where(*conditions)
                .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                .limit(per_page)
                .offset(literal((page - 1) * per_page, BigInteger))
            )
        )
    return AuditPage(items=items, page=page, per_page=per_page, total=total or 0)


def recent_for_user(user_id: int, limit: int = PROFILE_EVENTS) -> list[AuditEvent]:
    """A user's own latest security events (about them), for the profile page."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_id == user_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )


def describe(event_type: str, details: dict[str, Any] | None = None) -> str:
    """The event in words a person reads (the type itself for one without a label)."""
    details = details or {}
    if event_type == USER_ROLE_CHANGED and {"from", "to"} <= details.keys():
        return f"Role changed from {details['from']} to {details['to']}"
    if event_type == USER_ACTIVE_CHANGED and "is_active" in details:
        return "Account enabled" if details["is_active"] else "Account disabled"
    return EVENT_LABELS.get(event_type, event_type)
