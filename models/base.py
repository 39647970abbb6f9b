"""The declarative base, the `db` object and the column types every model shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, DateTime, Index, Integer, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names keep Alembic migrations stable across databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
BigIntegerId = BigInteger().with_variant(Integer(), "sqlite")
# The largest id either column holds (both are signed 64-bit): a larger number names no row,
# and PostgreSQL answers it with "integer out of range" instead of no match.
MAX_ID = 2**63 - 1


class Base(DeclarativeBase):
    """Declarative base with a naming convention. Timestamps use `UTCDateTime` explicitly."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects stay readable after commit: services return them and views serialise them without
# another SELECT (each request ends its session anyway).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

# mypy cannot see through `db.Model` (a known Flask-SQLAlchemy limitation): type-check against Base.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


class IdMixin:
    """An auto-incrementing integer primary key."""

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, sort_order=-100)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


def column_values(instance: Any) -> dict[str, Any]:
    """The mapped column values of a model instance (handy in tests and exports)."""
    return {column.key: getattr(instance, column.key) for column in instance.__table__.columns}


# Index.info's key naming the one dialect whose schema has the index (`postgresql_only`).
ONLY_ON = "only_on"


def postgresql_only(index: Index) -> Index:
    """`index` in PostgreSQL's schema only: created there alone, and compared with the migrated
    schema by Alembic there alone (`in_schema_of`)."""
    index.info[ONLY_ON] = "postgresql"
    return index.ddl_if(dialect="postgresql")


def in_schema_of(dialect_name: str) -> Callable[..., bool]:
    """Alembic's `include_object` for a database of `dialect_name`: the model's objects its
    schema has (not another dialect's `postgresql_only` index)."""

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        only_on = obj.info.get(ONLY_ON) if type_ == "index" and not reflected else None
        return only_on in (None, dialect_name)

    return include_object
