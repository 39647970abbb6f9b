"""Signing in with a passkey (WebAuthn, on the `webauthn` library): alone, with discoverable
credentials so that no email is typed, or as the second step of an account with TOTP.

The options' challenge is stored server-side (passkey_challenges: single use,
`PASSKEY_CHALLENGE_SECONDS`); the answer is verified by the library against it, the relying party
id (the host of `PUBLIC_BASE_URL`) and the origin, with user verification required. A passkey is
two factors in one (something held, unlocked by something known or being), so it opens a session
as a password and a code would. Every refusal is recorded. See docs/passkeys.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, overload

from webauthn import generate_authentication_options, verify_authentication_response
from webauthn.helpers import parse_client_data_json
from webauthn.helpers.parse_authentication_credential_json import (
    parse_authentication_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticationCredential,
    CollectedClientData,
    UserVerificationRequirement,
)

from errors import AccountDisabled, PasskeyRefused
from models import User, utcnow
from services import audit_service, mfa_service, passkey_service
from services.auth import passkey_challenges
from services.auth.authentication import BrowserKind, Principal, TokenKind
from services.auth.passkey_challenges import SECOND_FACTOR, SIGN_IN
from services.auth.signin import signed_in
from services.base_service import unit_of_work
from services.passkey_service import UNREADABLE
from services.session_service import IssuedTokens

logger = logging.getLogger(__name__)

# The audit `method` of a sign-in made with a passkey alone.
PASSKEY = "passkey"
SIGN_COUNT = "sign_count"


def sign_in_options() -> dict[str, Any]:
    """Options for `navigator.credentials.get()` with no account named: the authenticator
    offers the discoverable passkeys it holds for this site."""
    party = passkey_service.relying_party()
    with unit_of_work():
        challenge = passkey_challenges.issue(purpose=SIGN_IN)
        options = generate_authentication_options(
            rp_id=party.id,
            challenge=challenge,
            timeout=passkey_service.timeout_ms(),
            user_verification=UserVerificationRequirement.REQUIRED,
        )
    return passkey_service.options_json(options)


@overload
def sign_in(
    *, credential: dict[str, Any], kind: TokenKind, replaces_session_id: None = None
) -> IssuedTokens: ...
@overload
def sign_in(
    *, credential: dict[str, Any], kind: BrowserKind, replaces_session_id: str | None = None
) -> Principal: ...
def sign_in(
    *, credential: dict[str, Any], kind: str, replaces_session_id: str | None = None
) -> IssuedTokens | Principal:
    """Sign in with a passkey alone (it satisfies two-factor): a session of `kind` opens as
    for a password sign-in; INVALID_CREDENTIALS (PasskeyRefused) otherwise."""
    with _recording_refusals():
        assertion, client_data = _parse_assertion(credential)
        _spend(client_data, SIGN_IN, None)
        with unit_of_work():
            user = _verified_use(assertion, client_data, owner_id=None)
            return signed_in(user, kind, replaces_session_id, mfa=True, method=PASSKEY)


def second_factor_options(*, mfa_token: str, kind: str) -> dict[str, Any]:
    """Options for the second step of a pending sign-in (TOTP on): that user's passkeys."""
    pending = mfa_service.decode_pending_sign_in(mfa_token, kind)
    party = passkey_service.relying_party()
    with unit_of_work():
        challenge = passkey_challenges.issue(purpose=SECOND_FACTOR, user_id=pending.user_id)
        options = generate_authentication_options(
            rp_id=party.id,
            challenge=challenge,
            timeout=passkey_service.timeout_ms(),
            allow_credentials=passkey_service.descriptors(
                passkey_service.live_for_user(pending.user_id)
            ),
            user_verification=UserVerificationRequirement.REQUIRED,
        )
    return passkey_service.options_json(options)


@overload
def complete_second_factor(
    *,
    mfa_token: str,
    credential: dict[str, Any],
    kind: TokenKind,
    replaces_session_id: None = None,
) -> IssuedTokens: ...
@overload
def complete_second_factor(
    *,
    mfa_token: str,
    credential: dict[str, Any],
    kind: BrowserKind,
    replaces_session_id: str | None = None,
) -> Principal: ...
def complete_second_factor(
    *, mfa_token: str, credential: dict[str, Any], kind: str, replaces_session_id: str | None = None
) -> IssuedTokens | Principal:
    """Finish a pending sign-in (its first factor was right) with one of its user's passkeys
    instead of a code."""
    pending = mfa_service.decode_pending_sign_in(mfa_token, kind)
    with _recording_refusals(pending.user_id):
        assertion, client_data = _parse_assertion(credential)
        _spend(client_data, SECOND_FACTOR, pending.user_id)
        with unit_of_work():
            user = _verified_use(assertion, client_data, owner_id=pending.user_id)
            return signed_in(user, kind, replaces_session_id, mfa=True, method=pending.method)


def _parse_assertion(
    credential: dict[str, Any],
) -> tuple[AuthenticationCredential, CollectedClientData]:
    try:
        parsed = parse_authentication_credential_json(credential)
        return parsed, parse_client_data_json(parsed.response.client_data_json)
    except UNREADABLE as exc:
        raise PasskeyRefused("malformed", facts={"error": str(exc)[:200]}) from None


def _spend(client_data: CollectedClientData, purpose: str, user_id: int | None) -> None:
    if not passkey_challenges.spend(client_data.challenge, purpose=purpose, user_id=user_id):
        raise PasskeyRefused("challenge")


def _verified_use(
    assertion: AuthenticationCredential, client_data: CollectedClientData, owner_id: int | None
) -> User:
    """The user whose passkey signed this challenge (of `owner_id` when given); its counter and
    last use are updated and the use audited, in the caller's unit of work."""
    found = passkey_service.find_usable(assertion.raw_id)
    if found is None:
        raise PasskeyRefused("unknown_passkey", user_id=owner_id)
    passkey, user = found
    handle = assertion.response.user_handle
    wrong_handle = handle is not None and handle != passkey_service.user_handle(user.id)
    if wrong_handle or owner_id not in (None, user.id):
        raise PasskeyRefused("owner", user_id=owner_id or user.id)
    party = passkey_service.relying_party()
    try:
        # The counter is compared below, after the signature: only a genuine assertion from a
        # copy of the key is reported as one.
        verified = verify_authentication_response(
            credential=assertion,
            expected_challenge=client_data.challenge,
            expected_rp_id=party.id,
            expected_origin=party.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except UNREADABLE as exc:
        facts = {"passkey_id": passkey.id, "error": str(exc)[:200]}
        raise PasskeyRefused("verification", user_id=user.id, facts=facts) from None
    stored, presented = passkey.sign_count, verified.new_sign_count
    if (stored or presented) and presented <= stored:
        facts = {"passkey_id": passkey.id, "stored": stored, "presented": presented}
        raise PasskeyRefused(SIGN_COUNT, user_id=user.id, facts=facts)
    if not user.is_active:
        raise AccountDisabled()
    passkey.sign_count = presented
    passkey.last_used_at = utcnow()
    audit_service.record(
        audit_service.PASSKEY_USED,
        actor_id=user.id,
        subject_id=user.id,
        details={"passkey_id": passkey.id, "name": passkey.name},
    )
    return user


@contextmanager
def _recording_refusals(user_id: int | None = None) -> Iterator[None]:
    """A refused passkey is recorded as a failed sign-in, with the check that failed, in a
    transaction of its own (the failed one rolled back); a signature counter that went back
    (a copied key) is recorded as such too."""
    try:
        yield
    except PasskeyRefused as error:
        subject = error.user_id or user_id
        details = {"method": PASSKEY, "reason": error.reason, **error.facts}
        audit_service.record_alone(audit_service.LOGIN_FAILED, subject_id=subject, details=details)
        if error.reason == SIGN_COUNT:
            logger.warning("passkey %s: signature counter went back", error.facts["passkey_id"])
            audit_service.record_alone(
                audit_service.PASSKEY_SIGN_COUNT_REGRESSED, subject_id=subject, details=error.facts
            )
        raise
    except AccountDisabled as error:
        details = {"method": PASSKEY, "reason": error.code}
        audit_service.record_alone(audit_service.LOGIN_FAILED, subject_id=user_id, details=details)
        raise
