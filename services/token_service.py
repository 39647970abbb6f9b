"""Token primitives: signed JWT access tokens and opaque random tokens stored as hashes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from flask import current_app

from errors import InvalidToken
from models.base import utcnow

ALGORITHM = "HS256"
ACCESS = "access"
REQUIRED_CLAIMS = ("sub", "jti", "type", "iat", "exp", "iss", "aud", "sid")
LEGACY_REQUIRED_CLAIMS = ("sub", "type", "iat", "exp")


@dataclass(frozen=True)
class AccessClaims:
    """The verified claims of an access token."""

    user_id: int
    session_id: str
    token_id: str
    expires_at: datetime


@dataclass(frozen=True)
class LegacyAccessClaims:
    """The verified claims of an access token signed by the old Node.js service."""

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
    """Verify signature, algorithm, expiry, issuer, audience and type, or raise INVALID_TOKEN."""
    config = current_app.config
    try:
        claims = jwt.decode(
            token,
            config["JWT_SECRET_KEY"],
            algorithms=[ALGORITHM],
            audience=config["JWT_AUDIENCE"],
            issuer=config["JWT_ISSUER"],
            options={"require": list(REQUIRED_CLAIMS)},
        )
        if claims["type"] != ACCESS:
            raise InvalidToken()
        return AccessClaims(
            user_id=int(claims["sub"]),
            session_id=str(claims["sid"]),
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(claims["exp"], tz=utcnow().tzinfo),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken() from exc


def decode_legacy_access_token(token: str) -> LegacyAccessClaims:
    """Verify an old service's access token (HS256 with `LEGACY_JWT_SECRET`, payload
    `sub`/`iat`/`exp`/`type`), or raise INVALID_TOKEN; without the secret none is accepted."""
    secret = current_app.config.get("LEGACY_JWT_SECRET")
    if not secret:
        raise InvalidToken()
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": list(LEGACY_REQUIRED_CLAIMS)}
        )
        if claims["type"] != ACCESS or not isinstance(claims["sub"], str):
            raise InvalidToken()
        zone = utcnow().tzinfo
        return LegacyAccessClaims(
            legacy_id=claims["sub"],
            issued_at=datetime.fromtimestamp(claims["iat"], tz=zone),
            expires_at=datetime.fromtimestamp(claims["exp"], tz=zone),
        )
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as exc:
        raise InvalidToken() from exc
