"""How services reach the database: `unit_of_work` for every write, `read_only` for single reads,
and the columns single-statement reads select (`read_columns`).

A public service function that writes opens one `with unit_of_work():` block around its work and
commits once, when the block ends; helpers never commit (docs/decisions/0112-one-unit-of-work.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Connection, Engine, event, inspect
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.pool import ConnectionPoolEntry

from config import READS_BIND
from errors import Conflict
from models.base import db

P = ParamSpec("P")
R = TypeVar("R")

logger = logging.getLogger(__name__)
AFTER_COMMIT_KEY = "after_commit"
_autocommit_engines: dict[Engine, Engine] = {}


@contextmanager
def unit_of_work(
    conflict_message: str | None = None, *, conflict: type[Conflict] = Conflict
) -> Iterator[Session]:
    """Yield the session; commit once when the block ends, roll back if it raises.

    A unique-constraint violation becomes a domain `conflict`; nothing half-written survives.
    Nested units of work join the outermost one, which alone commits. Callbacks given to
    `after_commit` run once that commit is done, and are dropped when it rolls back.
    """
    session = db.session()
    if session.info.get("unit_of_work_depth", 0):
        session.info["unit_of_work_depth"] += 1
        try:
            yield session
        finally:
            session.info["unit_of_work_depth"] -= 1
        return
    session.info["unit_of_work_depth"] = 1
    session.info[AFTER_COMMIT_KEY] = []
    try:
        yield session
        session.commit()
    except IntegrityError as exc:
        session.info[AFTER_COMMIT_KEY] = []
        session.rollback()
        logger.info("integrity error rolled back: %s", type(exc.orig).__name__)
        raise conflict(conflict_message) from exc
    except BaseException:
        session.info[AFTER_COMMIT_KEY] = []
        session.rollback()
        raise
    finally:
        session.info["unit_of_work_depth"] = 0
    callbacks, session.info[AFTER_COMMIT_KEY] = session.info[AFTER_COMMIT_KEY], []
    for callback in callbacks:
        callback()


def after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` once the open unit of work has committed (never if it rolls back); at
    once when none is open. For side effects that must not announce what may yet be undone,
    such as mail about the change."""
    session = db.session()
    if session.info.get("unit_of_work_depth", 0):
        session.info[AFTER_COMMIT_KEY].append(callback)
    else:
        callback()


@contextmanager
def read_only() -> Iterator[Connection]:
    """A pooled connection in autocommit, for single-statement reads.

    Each statement is its own transaction, so a read costs one round trip instead of three
    (BEGIN, SELECT, ROLLBACK). Never write through it; reads needing one snapshot use a
    unit of work.
    """
    with reads_engine().connect() as connection:
        yield connection


def reads_engine() -> Engine:
    """The engine of `read_only`: the autocommit pool (`config.READS_BIND`) where the database
    has one, else the main engine switched to autocommit per connection (SQLite)."""
    engines = db.engines
    reads = engines.get(READS_BIND)
    if reads is not None:
        return reads
    engine = engines[None]
    autocommit = _autocommit_engines.get(engine)
    if autocommit is None:
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        _autocommit_engines[engine] = autocommit
    return autocommit


# A reads connection back in the pool for less than this is used without a ping (decision 0124).
IDLE_PING_SECONDS = 1.0
RETURNED_AT = "returned_at"
# Set on a connection checked in after sitting unused elsewhere (services.direct_reads parks
# connections between reads): the monotonic time it has been idle since, instead of now.
IDLE_SINCE = "idle_since"


def init_app(app: Any) -> None:
    """With `SQLALCHEMY_POOL_PRE_PING`, ping the reads pool's connections that sat idle (the
    pool itself is configured without pre-ping: config.SQLALCHEMY_BINDS)."""
    if not app.config["SQLALCHEMY_POOL_PRE_PING"]:
        return
    with app.app_context():
        reads = db.engines.get(READS_BIND)
    if reads is not None:
        ping_when_idle(reads)


def ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pre-ping, only for a connection that has been back in the pool for
    `IDLE_PING_SECONDS` or more: one that a server restart, a failover or a proxy's idle timeout
    may have closed meanwhile, which is then replaced before the read (as pre-ping would). Under
    load a connection is in use again within milliseconds, and pinging it would cost a round
    trip as long as the read's own. A server that drops a connection used less than
    `IDLE_PING_SECONDS` ago fails that one read (503), and SQLAlchemy then replaces every
    connection of the pool."""
    if not event.contains(engine, "checkout", _ping_if_idle):
        event.listen(engine, "checkin", _note_return)
        event.listen(engine, "checkout", _ping_if_idle)


def _note_return(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info[RETURNED_AT] = record.info.pop(IDLE_SINCE, None) or time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    returned = record.info.get(RETURNED_AT)  # none yet: a connection made for this checkout
    if returned is None or time.monotonic() - returned < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception as exc:  # whatever the driver raises, the connection is unusable
        # The pool discards the connection and checks out a fresh one.
        raise DisconnectionError("idle connection closed by the server") from exc


ReadColumn = QueryableAttribute[Any] | ColumnElement[Any]


def read_columns(
    entity: type[Any],
    *schemas: type[BaseModel],
    expressions: Mapping[str, ColumnElement[Any]] | None = None,
) -> tuple[ReadColumn, ...]:
    """What a read of `entity` selects so that each of `schemas` validates from its rows: the
    column each field reads (its `validation_alias`, else its name), or the labelled expression
    `expressions` gives for a field no column holds; once each, in field order.

    Call it once, at import: a field with neither raises `LookupError` then (the app does not
    start) rather than a 500 on the first read that misses it.
    """
    mapper = inspect(entity)
    given = dict(expressions or {})
    chosen: dict[str, ReadColumn] = {}
    missing: list[str] = []
    for schema in schemas:
        for name, field in schema.model_fields.items():
            source = field.validation_alias or field.alias or name
            if not isinstance(source, str):
                missing.append(f"{schema.__name__}.{name} (an alias path)")
            elif source in chosen:
                continue
            elif source in given:
                chosen[source] = given[source].label(source)
            elif source in mapper.column_attrs:
                chosen[source] = mapper.column_attrs[source].class_attribute
            else:
                missing.append(f"{schema.__name__}.{name}")
    if missing:
        raise LookupError(
            f"{', '.join(missing)}: no {entity.__name__} column of that name and no expression "
            "for it; add the column to the model or map the field in `expressions`"
        )
    return tuple(chosen.values())
