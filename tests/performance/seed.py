"""The benchmark database: created fresh, migrated, seeded in bulk, with tokens minted for wrk."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import psycopg
from argon2 import PasswordHasher
from bson import ObjectId
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Bench-password-2026!"
ADMIN_ID = 1


@dataclass(frozen=True)
class Seeded:
    users: int
    admin_token: str
    user_tokens_file: Path


def create_database(server_url: str, name: str) -> str:
    """Drop and create database `name`; return its URL."""
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{server_url}/{name}"


def migrate(env: dict[str, str], python: str) -> None:
    """The real migrations, as the container entrypoint would run them."""
    subprocess.run(
        [python, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def production_hash(password: str) -> str:
    """One argon2id hash with the production defaults, shared by every seeded user."""
    return PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4).hash(password)


def seed_users(database_url: str, count: int, password_hash: str) -> None:
    """`count` users in one COPY; user 1 is the administrator."""
    now = datetime.now(UTC)
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        columns = (
            "email, name, password_hash, role, is_active, email_verified, created_at, updated_at,"
            " legacy_id"
        )
        with cur.copy(f"COPY users ({columns}) FROM STDIN") as copy:
            for i in range(1, count + 1):
                role = "admin" if i == ADMIN_ID else "user"
                copy.write_row(
                    (
                        f"user{i}@bench.example.com",
                        f"Bench User {i}",
                        password_hash,
                        role,
                        True,
                        True,
                        now,
                        now,
                        str(ObjectId()),
                    )
                )
    vacuum(database_url, "users")


def vacuum(database_url: str, table: str) -> None:
    """What autovacuum does to a live table: statistics, and the visibility map that lets
    index-only scans skip the table."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))


def open_sessions(database_url: str, user_ids: range) -> dict[int, str]:
    """One sign-in session per user id; returns user id → session id."""
    sessions = {user_id: uuid.uuid4().hex for user_id in user_ids}
    now = datetime.now(UTC)
    statement = "COPY auth_sessions (id, user_id, kind, created_at) FROM STDIN"
    with psycopg.connect(database_url) as conn, conn.cursor() as cur, cur.copy(statement) as copy:
        for user_id, session_id in sessions.items():
            copy.write_row((session_id, user_id, "api", now))
    vacuum(database_url, "auth_sessions")
    return sessions


def access_token(secret: str, user_id: int, session_id: str, app_name: str) -> str:
    """An access token like `token_service.encode_access_token` mints, valid for an hour."""
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "sid": session_id,
        "jti": uuid.uuid4().hex,
        "type": "access",
        "iat": now,
        "exp": now + timedelta(hours=1),
        "iss": app_name,
        "aud": f"{app_name}-api",
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def refresh_tokens(database_url: str, sessions: dict[int, str], count: int, path: Path) -> Path:
    """`count` unused refresh tokens spread over the sessions, raw values written to `path`."""
    session_ids = list(sessions.values())
    expires = datetime.now(UTC) + timedelta(days=1)
    now = datetime.now(UTC)
    raw = [secrets.token_urlsafe(32) for _ in range(count)]
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        columns = "session_id, token_hash, created_at, expires_at"
        with cur.copy(f"COPY refresh_tokens ({columns}) FROM STDIN") as copy:
            for i, token in enumerate(raw):
                digest = hashlib.sha256(token.encode()).hexdigest()
                copy.write_row((session_ids[i % len(session_ids)], digest, now, expires))
    path.write_text("\n".join(raw) + "\n")
    return path


def seed(database_url: str, env: dict[str, str], python: str, users: int, work: Path) -> Seeded:
    """Migrate, seed users and sessions, and write the token files wrk reads."""
    migrate(env, python)
    seed_users(database_url, users, production_hash(PASSWORD))
    signed_in = min(users, 1000)
    sessions = open_sessions(database_url, range(1, signed_in + 1))
    secret, app_name = env["JWT_SECRET_KEY"], env.get("APP_NAME", "flask-backend-app")
    lines = [f"{uid} {access_token(secret, uid, sid, app_name)}" for uid, sid in sessions.items()]
    tokens_file = work / "user_tokens.txt"
    tokens_file.write_text("\n".join(lines) + "\n")
    admin_token = access_token(secret, ADMIN_ID, sessions[ADMIN_ID], app_name)
    return Seeded(users=users, admin_token=admin_token, user_tokens_file=tokens_file)
