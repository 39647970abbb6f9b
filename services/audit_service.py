"""The audit trail: record security events, list them (administrators), show a user theirs.

`record` adds the event to the caller's unit of work, so it commits with the change it records
or not at all. `record_alone` commits on its own: for failures (a wrong password) whose own
transaction rolls back. The trail is append-only (models/audit_event.py): nothing here updates an
event, and the one deletion is `prune`, of events past the retention period (decision 0131).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import has_request_context, request
from flask_babel import gettext, lazy_gettext
from sqlalchemy import BigInteger, ColumnElement, delete, func, literal, or_, select

from errors import ValidationError
from models import AuditEvent, db, utcnow
from models import audit_event as append_only
from observability.logs import current_request_id
from schemas.audit import AuditEventQuery, AuditEventRead
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
EMAIL_CHANGE_REQUESTED = "auth.email_change_requested"
EMAIL_CHANGED = "auth.email_changed"
EMAIL_CHANGE_UNDONE = "auth.email_change_undone"
MFA_ENABLED = "mfa.enabled"
MFA_DISABLED = "mfa.disabled"
MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used"
MFA_RECOVERY_CODES_REGENERATED = "mfa.recovery_codes_regenerated"
SESSION_ENDED = "auth.session_ended"
USER_ROLE_CHANGED = "user.role_changed"
USER_ACTIVE_CHANGED = "user.active_changed"
USER_DELETED = "user.deleted"
USER_RESTORED = "user.restored"
USER_SESSIONS_ENDED = "user.sessions_ended"
USER_PASSWORD_RESET_MAILED = "user.password_reset_mailed"  # noqa: S105 - an event name
MFA_RESET = "mfa.reset"
DATA_IMPORTED = "data.imported"
AUDIT_PRUNED = "audit.pruned"
AUDIT_EXPORTED = "audit.exported"
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
    EMAIL_CHANGE_REQUESTED,
    EMAIL_CHANGED,
    EMAIL_CHANGE_UNDONE,
    MFA_ENABLED,
    MFA_DISABLED,
    MFA_RECOVERY_CODE_USED,
    MFA_RECOVERY_CODES_REGENERATED,
    SESSION_ENDED,
    USER_ROLE_CHANGED,
    USER_ACTIVE_CHANGED,
    USER_DELETED,
    USER_RESTORED,
    USER_SESSIONS_ENDED,
    USER_PASSWORD_RESET_MAILED,
    MFA_RESET,
    DATA_IMPORTED,
    AUDIT_PRUNED,
    AUDIT_EXPORTED,
    PASSKEY_ADDED,
    PASSKEY_RENAMED,
    PASSKEY_REMOVED,
    PASSKEY_USED,
    PASSKEY_SIGN_COUNT_REGRESSED,
)
PROFILE_EVENTS = 10

# What a person reads on their profile for each event type (a test checks every type has one).
EVENT_LABELS = {
    LOGIN_SUCCEEDED: lazy_gettext("Signed in"),
    LOGIN_FAILED: lazy_gettext("Failed sign-in attempt"),
    LOGOUT: lazy_gettext("Signed out"),
    REFRESH_TOKEN_REUSED: lazy_gettext(
        "A used sign-in token came back: every session was ended to be safe"
    ),
    PASSWORD_CHANGED: lazy_gettext("Password changed"),
    PASSWORD_RESET: lazy_gettext("Password reset with an emailed link"),
    EMAIL_VERIFIED: lazy_gettext("Email address confirmed"),
    MFA_ENABLED: lazy_gettext("Two-factor authentication turned on"),
    MFA_DISABLED: lazy_gettext("Two-factor authentication turned off"),
    MFA_RECOVERY_CODE_USED: lazy_gettext("A recovery code was used"),
    USER_ROLE_CHANGED: lazy_gettext("Role changed"),
    USER_ACTIVE_CHANGED: lazy_gettext("Account enabled or disabled"),
    USER_DELETED: lazy_gettext("Account deleted"),
    USER_RESTORED: lazy_gettext("Account restored"),
    USER_SESSIONS_ENDED: lazy_gettext("Every session was ended by an administrator"),
    USER_PASSWORD_RESET_MAILED: lazy_gettext("An administrator sent a password reset link"),
    MFA_RESET: lazy_gettext("Two-factor authentication reset by an administrator"),
    DATA_IMPORTED: lazy_gettext("Account imported from the previous service"),
    AUDIT_PRUNED: lazy_gettext("Old audit events pruned"),
    AUDIT_EXPORTED: lazy_gettext("Audit events exported"),
    MFA_RECOVERY_CODES_REGENERATED: lazy_gettext(
        "New recovery codes were made; the old ones stopped working"
    ),
    SESSION_ENDED: lazy_gettext("A session was signed out"),
    EMAIL_CHANGE_REQUESTED: lazy_gettext("Email address change requested"),
    EMAIL_CHANGED: lazy_gettext("Email address changed"),
    EMAIL_CHANGE_UNDONE: lazy_gettext("Email address change undone: every session was ended"),
    PASSKEY_ADDED: lazy_gettext("Passkey added"),
    PASSKEY_RENAMED: lazy_gettext("Passkey renamed"),
    PASSKEY_REMOVED: lazy_gettext("Passkey removed"),
    PASSKEY_USED: lazy_gettext("Signed in with a passkey"),
    PASSKEY_SIGN_COUNT_REGRESSED: lazy_gettext(
        "A passkey's signature counter went back: it may have been copied, and the sign-in was"
        " refused"
    ),
}
# Events worth a second look by the account's owner (shown highlighted).
ALERT_EVENTS = frozenset(
    {
        LOGIN_FAILED,
        REFRESH_TOKEN_REUSED,
        MFA_RECOVERY_CODE_USED,
        EMAIL_CHANGE_UNDONE,
        PASSKEY_SIGN_COUNT_REGRESSED,
    }
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
        audit_event.request_id = current_request_id()
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


@dataclass(frozen=True)
class EventFilter:
    """Which events: by or about a user, of a type, in a time range (`until` exclusive)."""

    user_id: int | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def of(cls, query: AuditEventQuery) -> EventFilter:
        """The filter a validated query asks for (API, console and command line alike)."""
        return cls(
            user_id=query.user_id, event_type=query.type, since=query.since, until=query.until
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses of this filter."""
        conditions: list[ColumnElement[bool]] = []
        if self.user_id is not None:
            conditions.append(
                or_(AuditEvent.subject_id == self.user_id, AuditEvent.actor_id == self.user_id)
            )
        if self.event_type is not None:
            conditions.append(AuditEvent.type == self.event_type)
        if self.since is not None:
            conditions.append(AuditEvent.created_at >= self.since)
        if self.until is not None:
            conditions.append(AuditEvent.created_at < self.until)
        return conditions


def list_events(
    *, actor: Actor, page: int, per_page: int, events: EventFilter = EventFilter()
) -> AuditPage:
    """Events newest first (administrators), filtered by user (actor or subject), type, time."""
    policy.ensure_admin(actor)
    conditions = events.conditions()
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


EXPORT_BATCH = 1000


def export(*, actor: Actor, events: EventFilter) -> Iterator[str]:
    """The filtered events recorded so far, oldest first, as JSON lines (administrators). The
    export is audited before the first line (itself not in it); the rows are read in batches by
    id, so an export of millions holds neither a transaction nor memory."""
    policy.ensure_admin(actor)
    with read_only() as connection:
        last_id = connection.scalar(select(func.max(AuditEvent.id))) or 0
    record_alone(
        AUDIT_EXPORTED,
        actor_id=policy.acting_user_id(actor),
        details={k: _plain(v) for k, v in vars(events).items() if v is not None} or None,
    )
    return _export_lines([*events.conditions(), AuditEvent.id <= last_id])


def _export_lines(conditions: list[ColumnElement[bool]]) -> Iterator[str]:
    columns = AuditEvent.__table__.columns
    after = 0
    while True:
        with read_only() as connection:
            rows = list(
                connection.execute(
                    select(*columns)
                    .where(*conditions, AuditEvent.id > after)
                    .order_by(AuditEvent.id)
                    .limit(EXPORT_BATCH)
                )
            )
        for row in rows:
            yield AuditEventRead.model_validate(row, from_attributes=True).model_dump_json() + "\n"
        if len(rows) < EXPORT_BATCH:
            return
        after = rows[-1].id


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


MIN_RETENTION_DAYS = 1


def prune(*, actor: Actor, older_than_days: int) -> int:
    """Delete the events older than `older_than_days` days (at least one), record the pruning
    itself, and answer how many went. The one deletion the append-only guards admit: the ORM's
    only with `PRUNE_OPTION`, PostgreSQL's trigger only below the cutoff set in `PRUNE_SETTING`
    for this transaction (migration 0013)."""
    policy.ensure_admin(actor)
    if older_than_days < MIN_RETENTION_DAYS:
        raise ValidationError.single("older_than", f"Must be at least {MIN_RETENTION_DAYS} day")
    cutoff = utcnow() - timedelta(days=older_than_days)
    with unit_of_work() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                select(func.set_config(append_only.PRUNE_SETTING, cutoff.isoformat(), True))
            )
        result = session.execute(
            delete(AuditEvent)
            .where(AuditEvent.created_at < cutoff)
            .execution_options(synchronize_session=False, **{append_only.PRUNE_OPTION: True})
        )
        deleted = int(getattr(result, "rowcount", 0))
        record(
            AUDIT_PRUNED,
            actor_id=policy.acting_user_id(actor),
            details={
                "older_than_days": older_than_days,
                "before": cutoff.isoformat(),
                "deleted": deleted,
            },
        )
    return deleted


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
    """The event in words a person reads, in the request's language (the type itself for one
    without a label)."""
    details = details or {}
    if event_type == USER_ROLE_CHANGED and {"from", "to"} <= details.keys():
        return str(
            gettext("Role changed from %(old)s to %(new)s", old=details["from"], new=details["to"])
        )
    if event_type == USER_ACTIVE_CHANGED and "is_active" in details:
        enabled = (
            gettext("Account enabled") if details["is_active"] else gettext("Account disabled")
        )
        return str(enabled)
    return str(EVENT_LABELS.get(event_type, event_type))
