"""The user account."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from bson import ObjectId
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from models.base import BigIntegerId, IdMixin, Model, UTCDateTime, postgresql_only, utcnow
from models.mixins import SoftDeleteMixin, TimestampMixin


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


def new_object_id() -> str:
    """A fresh MongoDB ObjectId as 24 hex characters: every user has one, imported or not."""
    return str(ObjectId())


def live_index(name: str, *columns: str | ColumnElement[Any], **options: Any) -> Index:
    """A partial index over live (not soft-deleted) users (`options`: Index's own)."""
    live = text("deleted_at IS NULL")
    return Index(name, *columns, postgresql_where=live, sqlite_where=live, **options)


# What `q=` reads first: a user's email and name in one string, in the statements' own `users`
# (unaliased). Its trigram index finds in one scan every user whose email or name may hold the
# needle (a needle in either is in it); the columns' own conditions then decide (decisions 0121,
# 0149). Parenthesised as PostgreSQL prints the index back, so Alembic's autogenerate finds the
# model's index and the database's equal.
SEARCH_TERMS = "(email || ' ') || name"
SEARCH_TEXT = f"({SEARCH_TERMS})"


def search_quadgrams(text_: ColumnElement[str]) -> ColumnElement[list[str]]:
    """PostgreSQL's `search_quadgrams(text)` (migration 0016): every four-character substring
    of `text_` lower-cased, as an array; empty when it is shorter."""
    return func.search_quadgrams(text_, type_=postgresql.ARRAY(String))


# The search text's quadgrams, its terms unparenthesised as PostgreSQL prints the index back.
SEARCH_QUADGRAMS = search_quadgrams(literal_column(SEARCH_TERMS, String))


class User(IdMixin, TimestampMixin, SoftDeleteMixin, Model):
    """A person who can sign in. Emails are stored normalised (`domain.emails.normalize_email`:
    NFKC, trimmed, local part lower-cased, domain mapped by IDNA UTS #46)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("role IN ('user', 'admin')", name="role_known"),
        # One live account per email; soft-deleted rows keep theirs without blocking reuse.
        live_index("uq_users_email_live", "email", unique=True),
        # Live ids alone: a list page finds its 20 ids by an index-only scan past the offset,
        # then reads just those rows (`user_service.list_statements`).
        live_index("ix_users_live_id", "id"),
        # `q=`: the search text's trigram index; SQLite gets a plain index it does not use for
        # such patterns.
        live_index(
            "ix_users_live_search_trgm",
            literal_column(SEARCH_TEXT).label("search_text"),
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        # `q=` of four characters or more: the search text's quadgrams (decision 0150), on
        # PostgreSQL only (the function is its).
        postgresql_only(
            live_index(
                "ix_users_live_search_quadgrams",
                SEARCH_QUADGRAMS.label("search_quadgrams"),
                postgresql_using="gin",
            )
        ),
        # `role=`: live users of a role in id order, without a sort.
        live_index("ix_users_live_role_id", "role", "id"),
    )

    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(100), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    role: Mapped[str] = mapped_column(String(16), default=Role.USER.value)
    is_active: Mapped[bool] = mapped_column(default=True)
    email_verified: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    # Set whenever every token of the user is revoked (password change or reset, deactivation,
    # deletion): tokens the old Node.js service issued before it have no session here to revoke.
    tokens_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The Node.js service's `_id`: kept for imported users, fresh for new ones (the `/v1` user id).
    legacy_id: Mapped[str] = mapped_column(String(24), unique=True, default=new_object_id)
    # Source fields without a column, verbatim as canonical Extended JSON (nothing is dropped).
    legacy_attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # The source document's `updatedAt` as last imported: the common ancestor when syncing.
    legacy_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The Auth0 subject (`sub`, e.g. "auth0|64f…") this account signs in as; None when unlinked.
    auth0_sub: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    # The language the user chose for pages and mails ("en", "de"); None: the browser's.
    locale: Mapped[str | None] = mapped_column(String(8), default=None)

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return self.role == Role.ADMIN.value


class EmailNormalisation(Model):
    """An email migration 0008 rewrote into today's normal form, with the original it had: the
    record that lets the migration's downgrade restore it exactly. Nothing else reads it."""

    __tablename__ = "email_normalisations"

    user_id: Mapped[int] = mapped_column(
        BigIntegerId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    original_email: Mapped[str] = mapped_column(String(320))
    normalised_email: Mapped[str] = mapped_column(String(320))
    normalised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
