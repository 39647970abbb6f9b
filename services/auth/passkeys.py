"""Passkeys of the caller (WebAuthn, on the `webauthn` library): adding one after a recent
sign-in (a discoverable credential, user verification required, bound to the relying party id, the
host of `PUBLIC_BASE_URL`), listing, renaming and removing them. Signing in with one:
services/auth/passkey_sign_in.py. See docs/passkeys.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from webauthn import (
    generate_registration_options,
    verify_registration_response,
)
from webauthn.helpers import parse_client_data_json
from webauthn.helpers.parse_registration_credential_json import (
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    CollectedClientData,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn.registration.verify_registration_response import VerifiedRegistration

from errors import (
    Conflict,
    RecentSignInRequired,
    ValidationError,
)
from models import AuthSession, Passkey, db, utcnow
from services import audit_service, passkey_service
from services.auth import passkey_challenges
from services.auth.authentication import Principal
from services.auth.passkey_challenges import REGISTER
from services.base_service import unit_of_work
from services.passkey_service import UNREADABLE, RelyingParty
from services.security_notices import Notice, notify

LAST_WAY_MESSAGE = (
    "This passkey is your only way to sign in: add another passkey (or set a password) first"
)


def registration_options(*, principal: Principal) -> dict[str, Any]:
    """Options for `navigator.credentials.create()`: a discoverable passkey with user
    verification, none of the caller's passkeys again. Needs a recent sign-in."""
    party = passkey_service.relying_party()
    with unit_of_work():
        _ensure_recent_sign_in(principal)
        user = principal.user
        challenge = passkey_challenges.issue(purpose=REGISTER, user_id=user.id)
        options = generate_registration_options(
            rp_id=party.id,
            rp_name=party.name,
            user_id=passkey_service.user_handle(user.id),
            user_name=user.email,
            user_display_name=user.name,
            challenge=challenge,
            timeout=passkey_service.timeout_ms(),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                require_resident_key=True,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=passkey_service.descriptors(passkey_service.live_for_user(user.id)),
        )
    return passkey_service.options_json(options)


def register(*, principal: Principal, credential: dict[str, Any], name: str) -> Passkey:
    """Verify the answer to `registration_options` and keep the new passkey as `name`."""
    party = passkey_service.relying_party()
    try:
        parsed = parse_registration_credential_json(credential)
        client_data = parse_client_data_json(parsed.response.client_data_json)
    except UNREADABLE as exc:
        raise _invalid_credential(exc) from None
    _spend_registration(client_data, principal.id)
    with unit_of_work("This passkey is already registered"):
        _ensure_recent_sign_in(principal)
        verified = _verified_registration(parsed, client_data, party)
        passkey = Passkey(
            user_id=principal.id,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=[transport.value for transport in parsed.response.transports or []],
            aaguid=verified.aaguid,
            name=name,
        )
        db.session.add(passkey)
        db.session.flush()
        audit_service.record(
            audit_service.PASSKEY_ADDED,
            actor_id=principal.id,
            subject_id=principal.id,
            details={"passkey_id": passkey.id, "name": name, "aaguid": verified.aaguid},
        )
        notify(principal.id, Notice.PASSKEY_ADDED, detail=name)  # mailed once this commits
    return passkey


def list_passkeys(*, principal: Principal) -> list[Passkey]:
    """The caller's passkeys, oldest first."""
    return passkey_service.live_for_user(principal.id)


def rename(*, principal: Principal, passkey_id: int, name: str) -> Passkey:
    """Give one of the caller's passkeys a new name."""
    with unit_of_work():
        passkey = passkey_service.get_own(principal.id, passkey_id)
        if passkey.name != name:
            audit_service.record(
                audit_service.PASSKEY_RENAMED,
                actor_id=principal.id,
                subject_id=principal.id,
                details={"passkey_id": passkey.id, "from": passkey.name, "to": name},
            )
            passkey.name = name
    return passkey


def remove(*, principal: Principal, passkey_id: int) -> None:
    """Remove one of the caller's passkeys (soft); refused when nothing else could sign in."""
    with unit_of_work():
        user = principal.user
        passkey = passkey_service.get_own(user.id, passkey_id)
        others = passkey_service.count_live(user.id) - 1
        if not (others or user.password_hash or user.auth0_sub):
            raise Conflict(LAST_WAY_MESSAGE)
        passkey.mark_deleted(by_user_id=user.id)
        audit_service.record(
            audit_service.PASSKEY_REMOVED,
            actor_id=user.id,
            subject_id=user.id,
            details={"passkey_id": passkey.id, "name": passkey.name},
        )
        notify(user.id, Notice.PASSKEY_REMOVED, detail=passkey.name)  # mailed once this commits


def has_passkeys(user_id: int) -> bool:
    """True when the user has at least one passkey."""
    return passkey_service.count_live(user_id) > 0


def _ensure_recent_sign_in(principal: Principal) -> None:
    """The caller's sign-in session began within `PASSKEY_RECENT_SIGN_IN_SECONDS` (tokens of an
    old service or of Auth0 have no session here, so they never count as recent)."""
    session = db.session.get(AuthSession, principal.session_id)
    window = timedelta(seconds=current_app.config["PASSKEY_RECENT_SIGN_IN_SECONDS"])
    if session is None or session.created_at < utcnow() - window:
        raise RecentSignInRequired(
            "Adding a passkey needs a recent sign-in: sign out, sign in again, then add it"
        )


def _verified_registration(
    parsed: RegistrationCredential, client_data: CollectedClientData, party: RelyingParty
) -> VerifiedRegistration:
    try:
        return verify_registration_response(
            credential=parsed,
            expected_challenge=client_data.challenge,
            expected_rp_id=party.id,
            expected_origin=party.origin,
            require_user_verification=True,
        )
    except UNREADABLE as exc:
        raise _invalid_credential(exc) from None


def _spend_registration(client_data: CollectedClientData, user_id: int) -> None:
    if not passkey_challenges.spend(client_data.challenge, purpose=REGISTER, user_id=user_id):
        raise ValidationError.single(
            "credential", "The passkey request expired or was already used; start again"
        )


def _invalid_credential(exc: Exception) -> ValidationError:
    return ValidationError.single("credential", f"The passkey was not accepted: {exc}"[:300])
