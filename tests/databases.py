"""Creating and dropping throwaway test databases on SQLite or PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from config import normalize_database_url


@dataclass(frozen=True)
class TestDatabase:
    url: str
    dialect: str


def _admin_connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    parsed = make_url(normalize_database_url(url))
    return psycopg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname=parsed.database or "postgres",
        autocommit=True,
    )


@contextmanager
def worker_database(suffix: str, tmp_dir: Path) -> Iterator[TestDatabase]:
    """A fresh database named after the base test database plus `suffix`."""
    base_url = os.environ.get("TEST_DATABASE_URL")
    if not base_url:
        yield TestDatabase(url=f"sqlite:///{tmp_dir / f'{suffix}.db'}", dialect="sqlite")
        return
    parsed = make_url(normalize_database_url(base_url))
    name = f"{parsed.database}_{suffix}".lower()
    with _admin_connect(base_url) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = parsed.set(database=name).render_as_string(hide_password=False)
        yield TestDatabase(url=url, dialect="postgresql")
    finally:
        with _admin_connect(base_url) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
