"""Passkeys (WebAuthn credentials) of users, and the sign-in challenges waiting for an answer
when no Redis is configured (services/auth/passkey_challenges.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigIntegerId, IdMixin, Model, UTCDateTime, utcnow
from models.mixins import SoftDeleteMixin

# The longest credential id WebAuthn allows (bytes).
CREDENTIAL_ID_BYTES = 1023
NAME_LENGTH = 64


class Passkey(IdMixin, SoftDeleteMixin, Model):
    """One credential of a user: the public key the library verifies assertions with, the
    authenticator's signature counter (a clone shows as a counter that goes back), how it can
    be reached (transports) and what made it (AAGUID). Removal is soft; a removed credential
    id is never accepted again, nor registered again."""

    __tablename__ = "passkeys"

    user_id: Mapped[int] = mapped_column(
        BigIntegerId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(CREDENTIAL_ID_BYTES), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    aaguid: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class PasskeyChallenge(Model):
    """A challenge handed out in WebAuthn options, until its answer comes back (single use) or
    it expires. Stored by the SHA-256 of the challenge, which the answer's clientDataJSON
    carries."""

    __tablename__ = "passkey_challenges"

    challenge_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(
        BigIntegerId, ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
