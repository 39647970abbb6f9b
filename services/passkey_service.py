"""Passkeys of users, row by row: the relying party they belong to, finding them, describing them
to the `webauthn` library. Helpers flush; the calling service (services/auth/passkeys.py) commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select
from webauthn import options_to_json
from webauthn.helpers.structs import (
    AuthenticatorTransport,
    PublicKeyCredentialCreationOptions,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialRequestOptions,
)

from errors import NotFound, ServiceUnavailable
from models import Passkey, User, db
from services.user_service import live_users

USER_HANDLE_BYTES = 8
# What reading or verifying a credential can raise. The client writes every byte of it, and the
# library's parsers answer some malformed structures with IndexError, AttributeError and the
# like (found by fuzzing) rather than its own errors: any failure there refuses the credential
# (those calls touch no database and no other state).
UNREADABLE: tuple[type[Exception], ...] = (Exception,)


@dataclass(frozen=True)
class RelyingParty:
    """Who passkeys are made for: the host of `PUBLIC_BASE_URL` (the RP id, which every passkey
    is bound to) and the origin pages run on (its scheme, host and port)."""

    id: str
    origin: str
    name: str


def relying_party() -> RelyingParty:
    """The relying party of this deployment, or SERVICE_UNAVAILABLE without `PUBLIC_BASE_URL`."""
    config = current_app.config
    base = config.get("PUBLIC_BASE_URL")
    parts = urlsplit(base) if base else None
    if parts is None or not parts.hostname:
        raise ServiceUnavailable("Passkeys need PUBLIC_BASE_URL (the site's address)")
    return RelyingParty(
        id=parts.hostname,
        origin=f"{parts.scheme}://{parts.netloc}",
        name=config["PASSKEY_RP_NAME"],
    )


def user_handle(user_id: int) -> bytes:
    """The WebAuthn user handle of a user: their id in 8 bytes (no email, no name), which a
    discoverable passkey hands back at sign-in."""
    return user_id.to_bytes(USER_HANDLE_BYTES, "big")


def live_for_user(user_id: int) -> list[Passkey]:
    """A user's passkeys, oldest first (removed ones left out)."""
    return list(
        db.session.scalars(
            select(Passkey)
            .where(Passkey.user_id == user_id, Passkey.deleted_at.is_(None))
            .order_by(Passkey.created_at, Passkey.id)
        )
    )


def count_live(user_id: int) -> int:
    """How many passkeys a user has."""
    statement = select(func.count()).where(Passkey.user_id == user_id, Passkey.deleted_at.is_(None))
    return int(db.session.scalar(statement) or 0)


def get_own(user_id: int, passkey_id: int) -> Passkey:
    """One of the user's own live passkeys, or NOT_FOUND (another's is not found either)."""
    passkey = db.session.scalars(
        select(Passkey).where(
            Passkey.id == passkey_id, Passkey.user_id == user_id, Passkey.deleted_at.is_(None)
        )
    ).first()
    if passkey is None:
        raise NotFound("Passkey not found")
    return passkey


def find_usable(credential_id: bytes) -> tuple[Passkey, User] | None:
    """The live passkey with this credential id and its live owner, locked for the sign-in's
    transaction (two answers racing cannot both move the counter); None when either is gone."""
    row = db.session.execute(
        select(Passkey, User)
        .join(User, User.id == Passkey.user_id)
        .where(Passkey.credential_id == credential_id, Passkey.deleted_at.is_(None), live_users())
        .with_for_update(of=Passkey)
    ).first()
    return None if row is None else (row[0], row[1])


def descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    """The passkeys as the library names credentials (to exclude or to allow)."""
    return [
        PublicKeyCredentialDescriptor(
            id=passkey.credential_id,
            transports=[AuthenticatorTransport(value) for value in passkey.transports],
        )
        for passkey in passkeys
    ]


def options_json(
    options: PublicKeyCredentialCreationOptions | PublicKeyCredentialRequestOptions,
) -> dict[str, Any]:
    """Options as the library serialises them (base64url), for the browsers' JSON parsers."""
    data: dict[str, Any] = json.loads(options_to_json(options))
    return data


def timeout_ms() -> int:
    """How long a browser should wait for the authenticator: the challenge's lifetime."""
    return int(current_app.config["PASSKEY_CHALLENGE_SECONDS"]) * 1000
