"""Two-factor authentication with TOTP (RFC 6238, pyotp): enrol, confirm, verify, disable.

Codes are checked against the current 30-second step and one step either side (clock drift);
the step of an accepted code is stored, and no code of that step or an earlier one is accepted
again, so a code seen over someone's shoulder cannot be replayed. Recovery codes are 80-bit
random strings kept as SHA-256 hashes (their entropy makes a slow hash unnecessary); each works
once. Helpers flush; the calling service commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
import pyotp
import segno
from flask import current_app
from sqlalchemy import select

from domain.texts import N_
from errors import Conflict, InvalidMfaCode, InvalidToken, NotFound
from models import User, UserMfa, db, utcnow
from services import audit_service, token_service
from services.security_notices import Notice, notify

RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_BYTES = 10  # 80 bits, 16 base32 characters
VALID_WINDOW = 1  # steps accepted either side of now
MFA_TOKEN_TYPE = "mfa"  # noqa: S105 - a token type, not a secret
FIRST_FACTOR = "password"  # the usual first factor of a sign-in


@dataclass(frozen=True)
class Enrolment:
    """What a user needs to add the account to an authenticator app."""

    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True)
class PendingSignIn:
    """What an mfa_token vouches for: whose first factor was right, and which it was."""

    user_id: int
    method: str


@dataclass(frozen=True)
class CodeCheck:
    """A code accepted: which kind."""

    recovery: bool


def find(user_id: int, *, lock: bool = False) -> UserMfa | None:
    """A user's enrolment (locked for the rest of the transaction with `lock`)."""
    statement = select(UserMfa).where(UserMfa.user_id == user_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return db.session.scalars(statement).first()


def is_enabled(user_id: int) -> bool:
    """True when the user has confirmed two-factor authentication."""
    return bool(
        db.session.scalar(
            select(UserMfa.confirmed_at.is_not(None)).where(UserMfa.user_id == user_id)
        )
    )


def start_enrolment(user: User) -> Enrolment:
    """A fresh secret (replacing an unconfirmed one); Conflict when 2FA is already on."""
    enrolment = find(user.id, lock=True)
    if enrolment is not None and enrolment.is_enabled:
        raise Conflict(N_("Two-factor authentication is already enabled"))
    secret = pyotp.random_base32()
    if enrolment is None:
        db.session.add(UserMfa(user_id=user.id, secret=secret, recovery_code_hashes=[]))
    else:
        enrolment.secret = secret
        enrolment.created_at = utcnow()
        enrolment.last_used_step = None
    db.session.flush()
    return _enrolment_of(user, secret)


def pending_enrolment(user: User) -> Enrolment | None:
    """The QR code of an enrolment waiting for its first code (None when there is none)."""
    enrolment = find(user.id)
    if enrolment is None or enrolment.is_enabled:
        return None
    return _enrolment_of(user, enrolment.secret)


def _enrolment_of(user: User, secret: str) -> Enrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["MFA_ISSUER"]
    )
    svg = segno.make(uri, error="m").svg_inline(scale=4, title="Two-factor QR code")
    return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=svg)


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Turn 2FA on with a first right code; answers the ten recovery codes (shown once)."""
    enrolment = find(user.id, lock=True)
    if enrolment is None:
        raise NotFound(N_("Start two-factor enrolment first"))
    if enrolment.is_enabled:
        raise Conflict(N_("Two-factor authentication is already enabled"))
    if not _accept_totp(enrolment, code):
        raise InvalidMfaCode()
    codes = new_recovery_codes()
    enrolment.recovery_code_hashes = [hash_recovery_code(code) for code in codes]
    enrolment.confirmed_at = utcnow()
    audit_service.record(audit_service.MFA_ENABLED, actor_id=user.id, subject_id=user.id)
    notify(user.id, Notice.MFA_ENABLED)
    return codes


def disable(user: User, code: str) -> None:
    """Turn 2FA off with a right TOTP or recovery code."""
    enrolment = find(user.id, lock=True)
    if enrolment is None or not enrolment.is_enabled:
        raise NotFound(N_("Two-factor authentication is not enabled"))
    if check_code(enrolment, code) is None:
        raise InvalidMfaCode()
    db.session.delete(enrolment)
    audit_service.record(audit_service.MFA_DISABLED, actor_id=user.id, subject_id=user.id)
    notify(user.id, Notice.MFA_DISABLED)


def regenerate_recovery_codes(user: User, *, code: str | None = None) -> list[str]:
    """Replace the recovery codes (the old ones stop working); with `code`, only after a right
    TOTP code. NOT_FOUND when 2FA is off."""
    enrolment = find(user.id, lock=True)
    if enrolment is None or not enrolment.is_enabled:
        raise NotFound("Two-factor authentication is not enabled")
    if code is not None and not _accept_totp(enrolment, code):
        raise InvalidMfaCode()
    codes = new_recovery_codes()
    enrolment.recovery_code_hashes = [hash_recovery_code(code) for code in codes]
    audit_service.record(
        audit_service.MFA_RECOVERY_CODES_REGENERATED, actor_id=user.id, subject_id=user.id
    )
    return codes


def verify_for_login(user_id: int, code: str) -> CodeCheck | None:
    """Check a sign-in code (TOTP or recovery) under a row lock; None when wrong or replayed."""
    enrolment = find(user_id, lock=True)
    if enrolment is None or not enrolment.is_enabled:
        return None
    return check_code(enrolment, code)


def check_code(enrolment: UserMfa, code: str) -> CodeCheck | None:
    """Accept a TOTP code (once per step) or consume a recovery code; None when neither."""
    if _accept_totp(enrolment, code):
        return CodeCheck(recovery=False)
    digest = hash_recovery_code(code)
    remaining = list(enrolment.recovery_code_hashes or [])
    for stored in remaining:
        if hmac.compare_digest(stored, digest):
            remaining.remove(stored)
            enrolment.recovery_code_hashes = remaining
            audit_service.record(
                audit_service.MFA_RECOVERY_CODE_USED,
                actor_id=enrolment.user_id,
                subject_id=enrolment.user_id,
                details={"remaining": len(remaining)},
            )
            notify(enrolment.user_id, Notice.RECOVERY_CODE_USED, detail=len(remaining))
            return CodeCheck(recovery=True)
    return None


def _accept_totp(enrolment: UserMfa, code: str) -> bool:
    candidate = code.strip().replace(" ", "")
    if not (candidate.isdigit() and len(candidate) == 6):
        return False
    totp = pyotp.TOTP(enrolment.secret)
    now_step = totp.timecode(utcnow())
    last = enrolment.last_used_step if enrolment.last_used_step is not None else -1
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if step > last and hmac.compare_digest(totp.generate_otp(step), candidate):
            enrolment.last_used_step = step
            return True
    return False


def new_recovery_codes() -> list[str]:
    """Ten fresh recovery codes, `xxxx-xxxx-xxxx-xxxx` (base32, lower case)."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode().lower()
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def hash_recovery_code(code: str) -> str:
    """SHA-256 of a recovery code, normalised (case, spaces and dashes ignored)."""
    normal = code.strip().lower().replace("-", "").replace(" ", "")
    return hashlib.sha256(normal.encode()).hexdigest()


def status(user_id: int) -> dict[str, Any]:
    """Whether 2FA is on, pending confirmation, and how many recovery codes are left."""
    enrolment = find(user_id)
    return {
        "enabled": bool(enrolment and enrolment.is_enabled),
        "pending": bool(enrolment and not enrolment.is_enabled),
        "recovery_codes_left": len(enrolment.recovery_code_hashes)
        if enrolment and enrolment.is_enabled
        else 0,
    }


def encode_mfa_token(user_id: int, kind: str, method: str = FIRST_FACTOR) -> str:
    """A short-lived signed token that says: this user passed the first factor (`method`: the
    password, or Auth0), needs a code."""
    now = utcnow()
    config = current_app.config
    claims = {
        "sub": str(user_id),
        "type": MFA_TOKEN_TYPE,
        "kind": kind,
        "method": method,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + timedelta(seconds=config["MFA_TOKEN_SECONDS"]),
        "iss": config["JWT_ISSUER"],
        "aud": config["JWT_AUDIENCE"],
        "nonce": secrets.token_hex(8),
    }
    return jwt.encode(claims, config["JWT_SECRET_KEY"], algorithm="HS256")


def decode_mfa_token(token: str, kind: str) -> int:
    """The user id of a valid mfa_token of this kind, or INVALID_TOKEN."""
    return decode_pending_sign_in(token, kind).user_id


def decode_pending_sign_in(token: str, kind: str) -> PendingSignIn:
    """The sign-in a valid mfa_token of this kind vouches for, or INVALID_TOKEN."""
    config = current_app.config
    try:
        claims = jwt.decode(
            token,
            config["JWT_SECRET_KEY"],
            algorithms=["HS256"],
            audience=config["JWT_AUDIENCE"],
            issuer=config["JWT_ISSUER"],
            options={"require": ["sub", "type", "kind", "exp", "iss", "aud"]},
        )
        if claims["type"] != MFA_TOKEN_TYPE or claims["kind"] != kind:
            raise InvalidToken()
        return PendingSignIn(
            user_id=token_service.user_id_claim(claims["sub"]),
            method=str(claims.get("method", FIRST_FACTOR)),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(N_("The sign-in step expired or is invalid; sign in again")) from exc
