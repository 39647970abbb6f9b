"""The framework floor: a bare Flask app with a psycopg 3 pool, serving the app's JSON.

Flask's routing, request and response objects and nothing else: no extensions, no hooks, no ORM,
and a Bearer token that is required but not checked. It runs the raw WSGI reference's queries and
JSON, so the gap between the two is what Flask costs, and the gap between this and the app is
what the app's own layers cost. Served like the app (`granian --factory
reference.bare_flask:create_app`).
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from flask import Flask, Response, request
from psycopg_pool import ConnectionPool

from .raw_wsgi import get_user, health, list_users, open_pool


def _json(status: str, body: Any) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def create_app(pool: ConnectionPool[Any] | None = None) -> Flask:
    """The Flask app over `pool` (default: a new one on DATABASE_URL)."""
    users = pool or open_pool(os.environ["DATABASE_URL"])
    app = Flask(__name__)

    @app.get("/health")
    def _health() -> Response:
        return _json("200 OK", health())

    @app.get("/api/v1/users/<int:user_id>")
    def _get_user(user_id: int) -> Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _json("401 Unauthorized", {"success": False})
        return _json(*get_user(users, user_id))

    @app.get("/api/v1/users")
    def _list_users() -> Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _json("401 Unauthorized", {"success": False})
        return _json(*list_users(users, request.args.get("page", 1, type=int)))

    return app
