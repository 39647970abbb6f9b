"""How services reach the database: `unit_of_work` for every write, `read_only` for single reads.

A public service function that writes opens one `with unit_of_work():` block around its work and
commits once, when the block ends; helpers never commit (docs/decisions/0112-one-unit-of-work.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config import READS_BIND
from errors import Conflict
from models.base import db

P = ParamSpec("P")
R = TypeVar("R")

logger = logging.getLogger(__name__)
_autocommit_engines: dict[Engine, Engine] = {}


@contextmanager
def unit_of_work(
    conflict_message: str | None = None, *, conflict: type[Conflict] = Conflict
) -> Iterator[Session]:
    """Yield the session; commit once when the block ends, roll back if it raises.

    A unique-constraint violation becomes a domain `conflict`; nothing half-written survives.
    Nested units of work join the outermost one, which alone commits.
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
    try:
        yield session
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        logger.info("integrity error rolled back: %s", type(exc.orig).__name__)
        raise conflict(conflict_message) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info["unit_of_work_depth"] = 0


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
