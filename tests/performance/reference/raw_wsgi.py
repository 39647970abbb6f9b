"""The raw limit: a bare WSGI callable with a psycopg 3 pool, serving the app's JSON.

No framework, no ORM, no authentication: the least work that can answer these routes. Served by
the same server and worker count as the app (`granian --factory reference.raw_wsgi:create_app`).
The bare Flask reference (`bare_flask.py`) reuses its queries and JSON.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import orjson
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

# The user resource's fields, as the app answers them.
COLUMNS = ", ".join(
    (
        *("id", "email", "name", "role", "is_active", "email_verified"),
        *("created_at", "updated_at", "last_login_at", "locale"),
    )
)
USER_PATH = re.compile(r"^/api/v1/users/(\d+)$")
PER_PAGE = 20


def open_pool(database_url: str) -> ConnectionPool[Any]:
    """Autocommit connections returning dict rows; RAW_POOL_SIZE connections at most."""
    return ConnectionPool(
        database_url,
        min_size=4,
        max_size=int(os.environ.get("RAW_POOL_SIZE", "16")),
        kwargs={"autocommit": True, "row_factory": dict_row},
        open=True,
    )


def stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_json(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("created_at", "updated_at", "last_login_at"):
        row[name] = stamp(row[name])
    return row


def envelope(data: Any) -> dict[str, Any]:
    return {
        "success": True,
        "data": data,
        "message": "Operation completed successfully",
        "timestamp": stamp(datetime.now(UTC)),
    }


def get_user(pool: ConnectionPool[Any], user_id: int) -> tuple[str, Any]:
    with pool.connection() as conn:
        row = conn.execute(
            f"SELECT {COLUMNS} FROM users WHERE id = %s AND deleted_at IS NULL",  # noqa: S608
            (user_id,),
        ).fetchone()
    if row is None:
        return "404 Not Found", {"success": False}
    return "200 OK", envelope(user_json(row))


def list_users(pool: ConnectionPool[Any], page: int) -> tuple[str, Any]:
    per_page = PER_PAGE
    with pool.connection() as conn:
        total = conn.execute("SELECT count(*) AS n FROM users WHERE deleted_at IS NULL").fetchone()
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM users WHERE deleted_at IS NULL "  # noqa: S608
            "ORDER BY id LIMIT %s OFFSET %s",
            (per_page, (page - 1) * per_page),
        ).fetchall()
    count = total["n"] if total else 0
    pagination = {
        "page": page,
        "per_page": per_page,
        "total": count,
        "pages": -(-count // per_page),
    }
    return "200 OK", envelope({"items": [user_json(r) for r in rows], "pagination": pagination})


def health() -> dict[str, Any]:
    return {"status": "healthy", "timestamp": stamp(datetime.now(UTC))}


WSGIApp = Callable[[dict[str, Any], Callable[[str, list[tuple[str, str]]], Any]], Iterable[bytes]]


def create_app(pool: ConnectionPool[Any] | None = None) -> WSGIApp:
    """The WSGI callable over `pool` (default: a new one on DATABASE_URL); granian --factory."""
    users = pool or open_pool(os.environ["DATABASE_URL"])

    def application(
        environ: dict[str, Any], start_response: Callable[[str, list[tuple[str, str]]], Any]
    ) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path == "/health":
            status, body = "200 OK", health()
        elif path == "/api/v1/users":
            page = int(parse_qs(environ.get("QUERY_STRING", "")).get("page", ["1"])[0])
            status, body = list_users(users, page)
        elif match := USER_PATH.match(path):
            status, body = get_user(users, int(match.group(1)))
        else:
            status, body = "404 Not Found", {"success": False}
        payload = orjson.dumps(body)
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]

    return application
