"""Prebuilt single-statement reads run on the driver's cursor, without SQLAlchemy's execution
machinery around them (decision 0136).

A hot read (get-by-id, a list page, its count) is one prebuilt SELECT. Through SQLAlchemy's
`Connection.execute` it cost ~140 µs of Python beyond psycopg's own work per request: the
connection wrapper, the compiled-cache lookup, the execution context, the result metadata built
from the cursor's description, the row objects. Here the statement is compiled once per dialect,
and each call takes a connection from the same reads pool (`base_service.reads_engine`: its size,
timeouts, idle ping and checkout metrics stay), runs the SQL text on psycopg's cursor and applies
the statement's own bind and result processors (`UTCDateTime` and the like), so the rows are what
SQLAlchemy would answer, as dicts keyed by column label. A driver error is raised as SQLAlchemy
would raise it (`DBAPIError.instance`: `OperationalError` for a lost server, and so on) and a lost
connection is invalidated, so the error handlers and the pool behave as for any other read.

Anything else runs through `Connection.execute` as before: another database or driver (SQLite),
a statement with an expanding `IN` parameter (compiled per call), or an engine with cursor-event
listeners (SQL echo, the tracing instrumentation), which expect to see each statement.

Between two direct reads a connection stays checked out, parked here (`ParkedConnections`,
decision 0143): the pool's checkout and checkin (its queue, lock, events and reset) cost ~20 µs
a read, parking costs ~1 µs. A parked connection goes back to the pool within a second (each
second `services.deferred` gives every one back), so the pool's idle ping, recycling and
`dispose()` still apply to it: one parked for `IDLE_PING_SECONDS` or more, or from a pool since
replaced, is never used again and goes back through the pool as idle since it was parked.
"""

from __future__ import annotations

import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from psycopg import RawCursor
from sqlalchemy import Engine, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import Pool, PoolProxiedConnection

from services import base_service, deferred
from services.base_service import read_only, reads_engine

Row = dict[str, Any]
AnySelect = Select[*tuple[Any, ...]]
DIRECT_DRIVER = "psycopg"
PYFORMAT_PARAMETER = re.compile(r"%\(([^)]+)\)s|%%")


@dataclass(frozen=True)
class CompiledRead:
    """A statement's SQL text for the driver, with what SQLAlchemy would do around it."""

    sql: str  # with $1, $2, ... placeholders: psycopg's RawCursor sends it as it is
    parameter_names: tuple[str, ...]  # the value of $n is that of parameter_names[n - 1]
    defaults: dict[str, Any]
    names: tuple[str, ...]
    bind_processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    result_processors: tuple[tuple[int, Callable[[Any], Any]], ...]


# statement -> its compiled read (None: run it through SQLAlchemy). The statements are built once
# (module constants, or lru-cached per list shape), so this stays small.
_compiled: dict[tuple[AnySelect, Dialect], CompiledRead | None] = {}


def fetch_all(statement: AnySelect, parameters: Mapping[str, Any]) -> list[Row]:
    """Every row of `statement` (a prebuilt SELECT) bound to `parameters`, as dicts."""
    engine = reads_engine()
    compiled = compiled_read(statement, engine)
    if compiled is None:
        with read_only() as connection:
            return [dict(row._mapping) for row in connection.execute(statement, parameters)]
    return _run(engine, compiled, parameters)


def fetch_first(statement: AnySelect, parameters: Mapping[str, Any]) -> Row | None:
    """The first row of `statement` bound to `parameters` (as a dict), or None."""
    rows = fetch_all(statement, parameters)
    return rows[0] if rows else None


def compiled_read(statement: AnySelect, engine: Engine) -> CompiledRead | None:
    """`statement` compiled for `engine`'s driver cursor, or None where it runs through
    SQLAlchemy (not psycopg, an expanding parameter, cursor-event listeners on the engine)."""
    dialect = engine.dialect
    if dialect.driver != DIRECT_DRIVER or _has_cursor_listeners(engine):
        return None
    key = (statement, dialect)
    try:
        return _compiled[key]
    except KeyError:
        compiled = _compiled[key] = _compile(statement, dialect)
        return compiled


def _has_cursor_listeners(engine: Engine) -> bool:
    dispatch = engine.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute) or bool(
        engine.echo
    )


def _compile(statement: AnySelect, dialect: Dialect) -> CompiledRead | None:
    compiled = statement.compile(dialect=dialect)
    if compiled.post_compile_params:
        return None  # an expanding IN (...) is rendered per call: SQLAlchemy's job
    binds = (
        (name, processor)
        for name, parameter in compiled.binds.items()
        if (processor := parameter.type.dialect_impl(dialect).bind_processor(dialect))
    )
    columns = list(statement.selected_columns)
    results = (
        (index, processor)
        for index, column in enumerate(columns)
        if (processor := column.type.dialect_impl(dialect).result_processor(dialect, None))
    )
    sql, parameter_names = numbered(compiled.string)
    return CompiledRead(
        sql=sql,
        parameter_names=parameter_names,
        defaults=dict(compiled.params),
        names=tuple(str(column.key) for column in columns),
        bind_processors=tuple(binds),
        result_processors=tuple(results),
    )


def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """psycopg's `%(name)s` SQL with `$1`, `$2`, ... instead, and the names in number order: the
    raw cursor sends it without converting the query on every call (~5 % of a read's time)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"  # `%%`, a literal percent sign
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return PYFORMAT_PARAMETER.sub(number, sql), tuple(names)


class Parked(NamedTuple):
    pool: Pool  # the engine's pool when the connection was parked
    connection: PoolProxiedConnection
    since: float  # time.monotonic() when parked


class ParkedConnections:
    """Reads connections kept checked out between direct reads, per engine, newest last."""

    def __init__(self) -> None:
        self._by_engine: weakref.WeakKeyDictionary[Engine, list[Parked]] = (
            weakref.WeakKeyDictionary()
        )
        # Taken to add an engine and to list them (rare); the lists themselves need none.
        self._engines_lock = threading.Lock()

    def take(self, engine: Engine) -> tuple[PoolProxiedConnection, Pool]:
        """The newest parked connection still fit to use, else one from the pool; with the pool
        it came from (read before the checkout: a `dispose()` meanwhile makes the connection
        look older than it is, and it is closed instead of reused, never the reverse)."""
        current = engine.pool
        parked = self._by_engine.get(engine)
        while parked:
            try:
                entry = parked.pop()  # atomic: two threads never take the same one
            except IndexError:
                break
            idle = time.monotonic() - entry.since
            if entry.pool is current and idle < base_service.IDLE_PING_SECONDS:
                return entry.connection, current
            _give_back(entry, current)
        return engine.raw_connection(), current

    def park(self, engine: Engine, connection: PoolProxiedConnection, pool: Pool) -> None:
        """Keep `connection` (from `engine`'s `pool`, just used) for the next read."""
        parked = self._by_engine.get(engine)
        if parked is None:
            with self._engines_lock:
                parked = self._by_engine.get(engine)
                if parked is None:
                    parked = self._by_engine[engine] = []
                    weakref.finalize(engine, _give_back_all, parked, None)
        parked.append(Parked(pool, connection, time.monotonic()))

    def count(self, engine: Engine) -> int:
        """How many of `engine`'s checked-out connections are parked (not in use)."""
        return len(self._by_engine.get(engine, ()))

    def give_back(self, engine: Engine | None = None) -> None:
        """Return every parked connection (of `engine`, or of all) to its pool."""
        if engine is not None:
            chosen = [engine]
        else:
            with self._engines_lock:
                chosen = list(self._by_engine)
        for each in chosen:
            parked = self._by_engine.get(each)
            if parked:
                _give_back_all(parked, each.pool)

    def forget_inherited(self) -> None:
        """In a forked child: drop the parent's parked connections unused and unclosed (their
        sockets are the parent's), and never finalize them (that would check them in here)."""
        _INHERITED.extend(self._by_engine.items())
        self._by_engine = weakref.WeakKeyDictionary()
        self._engines_lock = threading.Lock()


def _give_back_all(parked: list[Parked], current: Pool | None) -> None:
    while parked:
        try:
            entry = parked.pop()
        except IndexError:
            return
        _give_back(entry, current)


def _give_back(entry: Parked, current: Pool | None) -> None:
    """Check `entry`'s connection in to its pool if that is still the engine's (`current`),
    idle since it was parked: the pool's ping counts from then. A connection of a pool disposed
    of meanwhile (or of an engine gone) is closed, as `dispose()` closes those checked in."""
    if entry.pool is current:
        entry.connection.info[base_service.IDLE_SINCE] = entry.since
        entry.connection.close()
    else:
        entry.connection.invalidate()


PARKED = ParkedConnections()
_INHERITED: list[object] = []
deferred.PROCESS.every_second(PARKED.give_back, on_idle=False)
os.register_at_fork(after_in_child=PARKED.forget_inherited)


def _run(engine: Engine, compiled: CompiledRead, parameters: Mapping[str, Any]) -> list[Row]:
    bound = compiled.defaults | dict(parameters)
    for name, process in compiled.bind_processors:
        if name in bound:
            bound[name] = process(bound[name])
    values = [bound[name] for name in compiled.parameter_names]
    connection, pool = PARKED.take(engine)
    parked = False
    try:
        cursor = RawCursor(connection.driver_connection)  # type: ignore[arg-type]
        try:
            cursor.execute(compiled.sql, values)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        PARKED.park(engine, connection, pool)
        parked = True
    except engine.dialect.loaded_dbapi.Error as exc:
        lost = engine.dialect.is_disconnect(exc, connection, None)
        if lost:  # what SQLAlchemy's Connection does: this one and every older one are replaced
            engine.pool._invalidate(connection, exc)
            PARKED.give_back(engine)  # older ones parked here too: the pool replaces them
        raise DBAPIError.instance(
            compiled.sql,
            bound,
            exc,
            engine.dialect.loaded_dbapi.Error,
            hide_parameters=engine.hide_parameters,
            connection_invalidated=lost,
            dialect=engine.dialect,
        ) from exc
    finally:
        if not parked:
            connection.close()
    return [_row(compiled, values) for values in rows]


def _row(compiled: CompiledRead, values: tuple[Any, ...]) -> Row:
    if compiled.result_processors:
        listed = list(values)
        for index, process in compiled.result_processors:
            listed[index] = process(listed[index])
        values = tuple(listed)
    return dict(zip(compiled.names, values, strict=True))
