"""Realistic data of the Node.js service: Mongoose users with bcryptjs hashes ($2a$08$), JWT
refresh tokens, written as real mongoexport JSON (relaxed or canonical) and mongodump BSON."""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bcrypt
import bson
import jwt
from bson import ObjectId, json_util
from bson.json_util import CANONICAL_JSON_OPTIONS, RELAXED_JSON_OPTIONS

OLD_PASSWORD = "password1"  # the old service asked for 8+ characters, a letter and a digit
OLD_JWT_SECRET = "the-old-node-service-jwt-secret-0123456789"
_numbers = itertools.count(1)


@functools.lru_cache(maxsize=16)
def bcryptjs_hash(password: str = OLD_PASSWORD) -> str:
    """A bcrypt hash as bcryptjs writes it (`$2a$`, cost 8)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=8, prefix=b"2a")).decode()


def ms(moment: datetime) -> datetime:
    """MongoDB keeps milliseconds."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def mongoose_user(
    *,
    email: str | None = None,
    name: str | None = None,
    password: str = OLD_PASSWORD,
    role: str = "user",
    verified: bool = False,
    created: datetime | None = None,
    updated: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A users document in the shape Mongoose saved it."""
    number = next(_numbers)
    created = created or datetime(2023, 5, 17, 9, 30, 12, 345000, tzinfo=UTC)
    return {
        "_id": ObjectId(),
        "role": role,
        "isEmailVerified": verified,
        "name": name or f"Old User {number}",
        "email": email or f"old{number}@example.com",
        "password": bcryptjs_hash(password),
        "createdAt": created,
        "updatedAt": updated or created + timedelta(days=3, milliseconds=7),
        "__v": 0,
        **extra,
    }


def token_document(
    user: dict[str, Any],
    *,
    kind: str = "refresh",
    expires: datetime | None = None,
    blacklisted: bool = False,
    secret: str = OLD_JWT_SECRET,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A tokens document: the JWT in clear, as the old service stored it (`secret` and `claims`
    make a JWT the old service would have refused, in a document that looks live)."""
    now = datetime.now(UTC).replace(microsecond=0)
    expires = expires or now + timedelta(days=30)
    payload = {"sub": str(user["_id"]), "iat": now, "exp": expires, "type": kind, **(claims or {})}
    return {
        "_id": ObjectId(),
        "blacklisted": blacklisted,
        "token": jwt.encode(payload, secret, algorithm="HS256"),
        "user": user["_id"],
        "type": kind,
        "expires": expires,
        "createdAt": now,
        "updatedAt": now,
        "__v": 0,
    }


def write_json_lines(
    path: Path, documents: list[dict[str, Any]], *, canonical: bool = False
) -> Path:
    """What `mongoexport` writes by default (relaxed) or with `--jsonFormat=canonical`."""
    options = CANONICAL_JSON_OPTIONS if canonical else RELAXED_JSON_OPTIONS
    path.write_text("".join(json_util.dumps(d, json_options=options) + "\n" for d in documents))
    return path


def write_json_array(
    path: Path, documents: list[dict[str, Any]], *, canonical: bool = False
) -> Path:
    """What `mongoexport --jsonArray --pretty` writes."""
    options = CANONICAL_JSON_OPTIONS if canonical else RELAXED_JSON_OPTIONS
    path.write_text(json_util.dumps(documents, json_options=options, indent=2))
    return path


def write_bson(path: Path, documents: list[dict[str, Any]]) -> Path:
    """What `mongodump` writes: BSON documents back to back."""
    path.write_bytes(b"".join(bson.encode(d) for d in documents))
    return path


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """An export, parsed as mongoimport would."""
    options = json_util.JSONOptions(tz_aware=True, tzinfo=UTC)
    return [json_util.loads(line, json_options=options) for line in path.read_text().splitlines()]
