"""Field-encryption keys: re-encrypt stored rows under the newest key, and the start-up check
that refuses to run without a key once encrypted data exists (docs/decisions/0060)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Column, Table, Text, func, select, type_coerce

from models import db
from models.encrypted import EncryptedText, EncryptionUnavailable, field_cipher, rotate
from services.base_service import unit_of_work

DEFAULT_BATCH_SIZE = 500
DEFAULT_CHECK_SAMPLE = 100


@dataclass(frozen=True)
class ColumnCheck:
    """How many stored values of one encrypted column were tried, and how many no key opened."""

    name: str
    checked: int
    unreadable: int


@dataclass(frozen=True)
class EncryptedColumn:
    table: Table
    column: Column[str]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def encrypted_columns() -> list[EncryptedColumn]:
    """Every column of every model stored with `EncryptedText`."""
    return [
        EncryptedColumn(table, column)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def generate_key() -> str:
    """A new random Fernet key."""
    return Fernet.generate_key().decode()


def encrypted_row_count() -> int:
    """How many stored values are encrypted (non-NULL encrypted columns)."""
    total = 0
    for item in encrypted_columns():
        total += (
            db.session.scalar(
                select(func.count()).select_from(item.table).where(item.column.is_not(None))
            )
            or 0
        )
    return total


def check_stored_values(sample: int | None = DEFAULT_CHECK_SAMPLE) -> list[ColumnCheck]:
    """Try the configured keys on stored values of every encrypted column: the `sample` oldest
    and newest rows by primary key (a partial rotation leaves old keys at one end), or every
    row when `sample` is None. EncryptionUnavailable when data exists and no key is usable."""
    if encrypted_row_count() == 0:
        return []
    cipher = field_cipher()
    results = []
    for item in encrypted_columns():
        values = list(_all_values(item) if sample is None else _sample_values(item, sample))
        unreadable = 0
        for ciphertext in values:
            try:
                cipher.decrypt(ciphertext.encode())
            except InvalidToken:
                unreadable += 1
        results.append(ColumnCheck(item.name, len(values), unreadable))
    return results


def rotate_all(
    batch_size: int = DEFAULT_BATCH_SIZE, on_batch: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Re-encrypt every encrypted value under the newest key, one committed batch at a time."""
    field_cipher()  # fail before touching anything when there is no key
    done: dict[str, int] = {}
    for item in encrypted_columns():
        count = 0
        for batch in _batches(item, batch_size):
            with unit_of_work():
                for key, ciphertext in batch:
                    db.session.execute(
                        item.table.update()
                        .where(_primary_key(item) == key)
                        .values({item.column.name: type_coerce(rotate(ciphertext), Text)})
                    )
            count += len(batch)
            if on_batch is not None:
                on_batch(item.name, count)
        done[item.name] = count
    return done


def _primary_key(item: EncryptedColumn) -> Column[object]:
    columns = list(item.table.primary_key.columns)
    if len(columns) != 1:
        raise EncryptionUnavailable(f"{item.table.name} needs a single-column primary key")
    return columns[0]


def _batches(item: EncryptedColumn, size: int) -> Iterator[list[tuple[object, str]]]:
    """Keyset pagination on the primary key, reading the raw ciphertext."""
    key = _primary_key(item)
    raw = type_coerce(item.column, Text)
    last: object | None = None
    while True:
        statement = select(key, raw).where(item.column.is_not(None)).order_by(key).limit(size)
        if last is not None:
            statement = statement.where(key > last)
        rows = [(row[0], row[1]) for row in db.session.execute(statement)]
        db.session.rollback()  # end the read transaction before writing the batch
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _all_values(item: EncryptedColumn) -> Iterator[str]:
    for batch in _batches(item, DEFAULT_BATCH_SIZE):
        yield from (ciphertext for _, ciphertext in batch)


def _sample_values(item: EncryptedColumn, size: int) -> Iterator[str]:
    """The raw ciphertext of the `size` first and `size` last rows by primary key, each once."""
    key = _primary_key(item)
    raw = type_coerce(item.column, Text)
    seen: set[object] = set()
    for order in (key.asc(), key.desc()):
        statement = select(key, raw).where(item.column.is_not(None)).order_by(order).limit(size)
        for row_key, ciphertext in db.session.execute(statement):
            if row_key not in seen:
                seen.add(row_key)
                yield ciphertext
