"""Shared steps of the auth service unit tests: a request context, TOTP codes, audit rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyotp
from flask import Flask
from sqlalchemy import select

from models import AuditEvent, AuthSession, db, utcnow


@contextmanager
def in_request(app: Flask) -> Iterator[None]:
    """A request context (sessions record the caller's address), its database session fresh."""
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "192.0.2.7"}):
        yield
        db.session.remove()


def code_at(secret: str, offset_steps: int = 0) -> str:
    """The TOTP code of `secret`, `offset_steps` periods from now."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(utcnow()) + offset_steps)


def audit_types(app: Flask, subject_id: int | None = None) -> list[str]:
    """The audit events committed so far (of `subject_id`), oldest first."""
    statement = select(AuditEvent.type).order_by(AuditEvent.id)
    if subject_id is not None:
        statement = statement.where(AuditEvent.subject_id == subject_id)
    with app.app_context():
        return list(db.session.scalars(statement))


def session_kinds(app: Flask, user_id: int) -> list[tuple[str, bool]]:
    """The kind of each committed sign-in session of `user_id`, and whether it was revoked."""
    statement = select(AuthSession.kind, AuthSession.revoked_at).where(
        AuthSession.user_id == user_id
    )
    with app.app_context():
        rows = db.session.execute(statement).all()
    return sorted((kind, revoked is not None) for kind, revoked in rows)
