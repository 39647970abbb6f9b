"""Sign-in sessions and their refresh tokens.

Every login opens an `AuthSession` (one "family"): access tokens name it in their `sid` claim and
refresh tokens belong to it. Revoking the session ends every token of that login at once, in every
worker and replica, because each request checks it in the database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigIntegerId, IdMixin, Model, UTCDateTime, utcnow


class AuthSession(Model):
    """One login: the family of tokens it issued."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigIntegerId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="api")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Written at most about once a minute (services/session_activity.py); None: see created_at.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    client_address: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(255), default=None)

    @property
    def is_revoked(self) -> bool:
        """True once the session has been ended."""
        return self.revoked_at is not None


class RefreshToken(IdMixin, Model):
    """A refresh token, stored only as its SHA-256 hash. Single use: rotation marks it used."""

    __tablename__ = "refresh_tokens"

    session_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
