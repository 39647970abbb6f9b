"""Token primitives: signed JWT access tokens and opaque random tokens stored as hashes."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask import current_app

from errors import InvalidToken
from models.base import MAX_ID, utcnow

ALGORITHM = "HS256"
# Verified access tokens remembered per worker (a few hundred bytes each).
VERIFIED_TOKENS = 8192
ACCESS = "access"
REFRESH = "refresh"
REQUIRED_CLAIMS = ("sub", "jti", "type", "iat", "exp", "iss", "aud", "sid")
LEGACY_REQUIRED_CLAIMS = ("sub", "type", "iat", "exp")
# A user id as tokens carry it: decimal digits, no sign, space or `_` (which `int()` allows).
DECIMAL_ID = re.compile(r"[1-9][0-9]{0,18}")


@dataclass(frozen=True)
class AccessClaims:
    """The verified claims of an access token."""

    user_id: int
    session_id: str
    token_id: str
    expires_at: datetime


@dataclass(frozen=True)
class LegacyClaims:
    """The verified claims of a token (access or refresh) signed by the old Node.js service."""

    legacy_id: str
    issued_at: datetime
    expires_at: datetime


def new_opaque_token() -> str:
    """A random, URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 of a token: what the database keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_id() -> str:
    """A random identifier for a sign-in session."""
    return uuid.uuid4().hex


def user_id_claim(sub: object) -> int:
    """The user id a token's `sub` names, or ValueError: only ids a row can have pass, so a
    well-signed token with an absurd number never reaches the database."""
    if not isinstance(sub, str) or not DECIMAL_ID.fullmatch(sub) or int(sub) > MAX_ID:
        raise ValueError("sub is not a user id")
    return int(sub)


def expiry_claim(exp: float) -> datetime:
    """A token's `exp` as a time, or ValueError when it is past any date Python can hold."""
    try:
        return datetime.fromtimestamp(exp, tz=UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError("exp is out of range") from exc


def access_token_lifetime() -> timedelta:
    """How long an access token lives (`JWT_ACCESS_TOKEN_EXPIRES` seconds)."""
    return timedelta(seconds=current_app.config["JWT_ACCESS_TOKEN_EXPIRES"])


def refresh_token_lifetime() -> timedelta:
    """How long a refresh token lives (`JWT_REFRESH_TOKEN_EXPIRES` seconds)."""
    return timedelta(seconds=current_app.config["JWT_REFRESH_TOKEN_EXPIRES"])


def encode_access_token(*, user_id: int, session_id: str) -> str:
    """Sign an access token for `user_id` within sign-in session `session_id`."""
    now = utcnow()
    config = current_app.config
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "sid": session_id,
        "jti": uuid.uuid4().hex,
        "type": ACCESS,
        "iat": now,
        "exp": now + access_token_lifetime(),
        "iss": config["JWT_ISSUER"],
        "aud": config["JWT_AUDIENCE"],
    }
    return jwt.encode(claims, config["JWT_SECRET_KEY"], algorithm=ALGORITHM)


def decode_access_token(token: str) -> AccessClaims:
    """Verify signature, algorithm, expiry, issuer, audience and type, or raise INVALID_TOKEN.

    A token that passed is remembered by its exact text (with the key, audience and issuer it
    passed under) until it expires: clients send the same token for minutes, and PyJWT's checks
    cost ~80 µs a request where a lookup costs ~1 µs. Expiry is checked again on every use;
    revocation is the caller's check (`services.auth.authentication`), never cached here.
    """
    config = current_app.config
    try:
        claims = _verified_access_claims(
            token, config["JWT_SECRET_KEY"], config["JWT_AUDIENCE"], config["JWT_ISSUER"]
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken() from exc
    if claims.expires_at <= utcnow():
        raise InvalidToken()
    return claims


@functools.lru_cache(maxsize=VERIFIED_TOKENS)
def _verified_access_claims(token: str, secret: str, audience: str, issuer: str) -> AccessClaims:
    """PyJWT's full verification; raises on any failure (failures are never cached)."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        audience=audience,
        issuer=issuer,
        options={"require": list(REQUIRED_CLAIMS)},
    )
    if claims["type"] != ACCESS:
        raise ValueError("not an access token")
    return AccessClaims(
        user_id=user_id_claim(claims["sub"]),
        session_id=str(claims["sid"]),
        token_id=str(claims["jti"]),
        expires_at=expiry_claim(claims["exp"]),
    )


def decode_legacy_access_token(token: str) -> LegacyClaims:
    """Verify an access token of the old service (see `decode_legacy_token`)."""
    return decode_legacy_token(token, ACCESS)


def decode_legacy_token(token: str, kind: str) -> LegacyClaims:
    """Verify a token of the old service as its `jwt.verify` did (HS256 with `LEGACY_JWT_SECRET`,
    unexpired, payload `sub`/`iat`/`exp`/`type` with `type` equal to `kind`), or raise
    INVALID_TOKEN; without the secret none is accepted."""
    secret = current_app.config.get("LEGACY_JWT_SECRET")
    if not secret:
        raise InvalidToken()
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": list(LEGACY_REQUIRED_CLAIMS)}
        )
        if claims["type"] != kind or not isinstance(claims["sub"], str):
            raise InvalidToken()
        return LegacyClaims(
            legacy_id=claims["sub"],
            issued_at=expiry_claim(claims["iat"]),
            expires_at=expiry_claim(claims["exp"]),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken() from exc
