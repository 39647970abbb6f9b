"""Passkeys for single-page apps and other token clients under `/api/v1/auth/passkeys` (contract
§11): options and verify for adding one and for signing in with one, list, rename, remove. The
options and credentials are the JSON the `webauthn` library produces and reads."""

from __future__ import annotations

from typing import Any

from blueprints.api import bp
from blueprints.endpoint import endpoint
from blueprints.rate_limits import address_limit, passkey_limits
from blueprints.security import current_principal
from schemas.auth import TokenPair
from schemas.passkey import (
    PasskeyList,
    PasskeyLoginRequest,
    PasskeyRead,
    PasskeyRegisterRequest,
    PasskeyRename,
    PublicKeyOptions,
)
from services.auth import passkey_sign_in, passkeys
from services.auth.authentication import API

TAGS = ("passkeys",)
# Passkey options (each stores a challenge) per client address; the pages' routes share it.
OPTIONS_LIMIT = ("RATELIMIT_PASSKEY_OPTIONS", "passkey-options")
# What adding a passkey takes and answers, here and on the profile page.
REGISTER_SPEC: dict[str, Any] = {
    "body": PasskeyRegisterRequest,
    "response": PasskeyRead,
    "status": 201,
    "auth": True,
    "errors": (400, 401, 403, 409, 503),
    "message": "Passkey added",
}


@bp.post("/auth/passkeys/register/options")
@endpoint(response=PublicKeyOptions, auth=True, errors=(401, 403, 503), tags=TAGS)
def passkey_registration_options() -> object:
    """Options for `navigator.credentials.create()` (needs a recent sign-in).
    Pass them to `PublicKeyCredential.parseCreationOptionsFromJSON`; the challenge works once,
    for `PASSKEY_CHALLENGE_SECONDS`. 403 when the sign-in is not recent: sign in again."""
    return passkeys.registration_options(principal=current_principal())


@bp.post("/auth/passkeys/register")
@endpoint(**REGISTER_SPEC, tags=TAGS)
def register_passkey(body: PasskeyRegisterRequest) -> object:
    """Add a passkey: the credential `create()` answered (as JSON) and a name for it."""
    return passkeys.register(
        principal=current_principal(), credential=body.credential, name=body.name
    )


@bp.get("/auth/passkeys")
@endpoint(response=PasskeyList, auth=True, errors=(401,), tags=TAGS)
def list_passkeys() -> object:
    """Your passkeys, oldest first, with when each was added and last used."""
    return {"items": passkeys.list_passkeys(principal=current_principal())}


@bp.patch("/auth/passkeys/<id:passkey_id>")
@endpoint(body=PasskeyRename, response=PasskeyRead, auth=True, errors=(401, 404), tags=TAGS)
def rename_passkey(passkey_id: int, body: PasskeyRename) -> object:
    """Rename one of your passkeys."""
    return passkeys.rename(principal=current_principal(), passkey_id=passkey_id, name=body.name)


@bp.delete("/auth/passkeys/<id:passkey_id>")
@endpoint(auth=True, errors=(401, 404, 409), message="Passkey removed", tags=TAGS)
def remove_passkey(passkey_id: int) -> None:
    """Remove one of your passkeys; 409 when it is your only way to sign in."""
    passkeys.remove(principal=current_principal(), passkey_id=passkey_id)


@bp.post("/auth/passkeys/login/options")
@address_limit(*OPTIONS_LIMIT)
@endpoint(response=PublicKeyOptions, errors=(429, 503), tags=TAGS)
def passkey_login_options() -> object:
    """Options for `navigator.credentials.get()`: no email needed.
    The authenticator offers the passkeys it holds for this site (discoverable credentials);
    the challenge works once, for `PASSKEY_CHALLENGE_SECONDS`."""
    return passkey_sign_in.sign_in_options()


@bp.post("/auth/passkeys/login")
@passkey_limits
@endpoint(body=PasskeyLoginRequest, response=TokenPair, errors=(401, 403, 429, 503), tags=TAGS)
def passkey_login(body: PasskeyLoginRequest) -> object:
    """Sign in with a passkey: the credential `get()` answered; answers tokens.
    The same answer as `/auth/login`; a passkey satisfies two-factor authentication. A refused
    passkey is 401 `INVALID_CREDENTIALS` with `details.reason` (challenge, malformed,
    unknown_passkey, owner, verification, sign_count)."""
    return passkey_sign_in.sign_in(credential=body.credential, kind=API)
