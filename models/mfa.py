"""Two-factor authentication (TOTP) of a user: the secret (encrypted), the last time-step used
(no code is accepted twice) and the recovery codes (SHA-256 hashes of 80-bit random codes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigIntegerId, Model, UTCDateTime, utcnow
from models.encrypted import EncryptedText


class UserMfa(Model):
    """A user's TOTP enrolment; active once `confirmed_at` is set (a first code was right)."""

    __tablename__ = "user_mfa"

    user_id: Mapped[int] = mapped_column(
        BigIntegerId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    recovery_code_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)

    @property
    def is_enabled(self) -> bool:
        """True once enrolment was confirmed."""
        return self.confirmed_at is not None
