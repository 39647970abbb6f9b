"""Reusable column groups: timestamps and soft deletion."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from models.base import BigIntegerId, UTCDateTime, utcnow


class TimestampMixin:
    """`created_at` and `updated_at`, set in UTC by the application on insert and update."""

    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, index=True, sort_order=100
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, sort_order=100
    )


class SoftDeleteMixin:
    """Rows are never removed: deletion records when and by whom."""

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, sort_order=100)

    @declared_attr
    def deleted_by(cls) -> Mapped[int | None]:  # noqa: N805 - SQLAlchemy declared_attr
        return mapped_column(
            BigIntegerId, ForeignKey("users.id", ondelete="SET NULL"), default=None, sort_order=100
        )

    @property
    def is_deleted(self) -> bool:
        """True once the row has been soft-deleted."""
        return self.deleted_at is not None

    def mark_deleted(self, *, by_user_id: int | None) -> None:
        """Soft-delete the row now, recording the acting user."""
        self.deleted_at = utcnow()
        self.deleted_by = by_user_id
