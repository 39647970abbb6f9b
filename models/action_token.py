"""Single-use, expiring tokens mailed to users: email verification, password reset, and the
confirmation and undoing of an email change."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigIntegerId, IdMixin, Model, UTCDateTime, utcnow


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name, not a secret
    # Its `email` is the address asked for: mailed there, it makes it the account's address.
    CHANGE_EMAIL = "change_email"
    # Its `email` is the address the change was asked from: mailed there, it brings it back.
    UNDO_EMAIL_CHANGE = "undo_email_change"


# Purposes whose token carries an address of its own instead of vouching for the current one.
ADDRESS_PURPOSES = frozenset({TokenPurpose.CHANGE_EMAIL, TokenPurpose.UNDO_EMAIL_CHANGE})


class ActionToken(IdMixin, Model):
    """A mailed token, stored only as its SHA-256 hash."""

    __tablename__ = "action_tokens"

    user_id: Mapped[int] = mapped_column(
        BigIntegerId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The address the token was sent to: changing the email voids a verification or reset token
    # (for ADDRESS_PURPOSES, the address the token acts on).
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
