"""Passkeys (WebAuthn, on the `webauthn` library): adding them after a recent sign-in, signing in
with one alone (discoverable credentials, so no email is typed), using one as the second step of
an account with TOTP, renaming and removing them.

Every ceremony starts with options whose challenge is stored server-side (passkey_challenges:
single use, `PASSKEY_CHALLENGE_SECONDS`) and ends with the browser's answer, which the library
verifies against that challenge, the relying party id (the host of `PUBLIC_BASE_URL`) and the
origin, with user verification required. A passkey sign-in is two factors in one (something held,
unlocked by something known or being), so it opens a session like a password and a code would.
See docs/passkeys.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, NoReturn, overload

from flask import current_app
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_client_data_json
from webauthn.helpers.parse_authentication_credential_json import (
    parse_authentication_credential_json,
)
from webauthn.helpers.parse_registration_credential_json import (
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    CollectedClientData,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn.registration.verify_registration_response import VerifiedRegistration

from errors import (
    AccountDisabled,
    Conflict,
    PasskeyRefused,
    RecentSignInRequired,
    ValidationError,
)
from models import AuthSession, Passkey, User, db, utcnow
from services import audit_service, mfa_service, passkey_service
from services.auth import passkey_challenges
from services.auth.authentication import BrowserKind, Principal, TokenKind
from services.auth.passkey_challenges import REGISTER, SECOND_FACTOR, SIGN_IN
from services.auth.signin import signed_in
from services.base_service import unit_of_work
from services.passkey_service import RelyingParty
from services.session_service import IssuedTokens

logger = logging.getLogger(__name__)

# The audit `method` of a sign-in made with a passkey alone.
PASSKEY = "passkey"
REQUIRED = UserVerificationRequirement.REQUIRED
# What reading or verifying a credential can raise. The client writes every byte of it, and the
# library's parsers answer some malformed structures with IndexError, AttributeError and the
# like (found by fuzzing) rather than its own errors: any failure there refuses the credential
# (the calls touch no database and no other state).
MALFORMED: tuple[type[Exception], ...] = (Exception,)
SIGN_COUNT = "sign_count"
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
            timeout=_timeout_ms(),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                require_resident_key=True,
                user_verification=REQUIRED,
            ),
            exclude_credentials=passkey_service.descriptors(passkey_service.live_for_user(user.id)),
        )
    return _as_json(options_to_json(options))


def register(*, principal: Principal, credential: dict[str, Any], name: str) -> Passkey:
    """Verify the answer to `registration_options` and keep the new passkey as `name`."""
    party = passkey_service.relying_party()
    try:
        parsed = parse_registration_credential_json(credential)
        client_data = parse_client_data_json(parsed.response.client_data_json)
    except MALFORMED as exc:
        raise _invalid_credential(exc) from None
    _take_challenge(client_data, REGISTER, principal.id, refuse=_stale_registration)
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
        # Notice hook (security_notices): "passkey added" to principal.user.
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
        # Notice hook (security_notices): "passkey removed" to `user`.


def sign_in_options() -> dict[str, Any]:
    """Options for `navigator.credentials.get()` with no account named: the authenticator
    offers the discoverable passkeys it holds for this site."""
    party = passkey_service.relying_party()
    with unit_of_work():
        challenge = passkey_challenges.issue(purpose=SIGN_IN)
        options = generate_authentication_options(
            rp_id=party.id, challenge=challenge, timeout=_timeout_ms(), user_verification=REQUIRED
        )
    return _as_json(options_to_json(options))


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
    for a password sign-in; PASSKEY_REFUSED-style INVALID_CREDENTIALS otherwise."""
    with _recording_refusals():
        assertion, client_data = _parse_assertion(credential)
        _take_challenge(client_data, SIGN_IN, None, refuse=_stale_sign_in)
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
            timeout=_timeout_ms(),
            allow_credentials=passkey_service.descriptors(
                passkey_service.live_for_user(pending.user_id)
            ),
            user_verification=REQUIRED,
        )
    return _as_json(options_to_json(options))


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
        _take_challenge(client_data, SECOND_FACTOR, pending.user_id, refuse=_stale_sign_in)
        with unit_of_work():
            user = _verified_use(assertion, client_data, owner_id=pending.user_id)
            return signed_in(user, kind, replaces_session_id, mfa=True, method=pending.method)


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
    except MALFORMED as exc:
        raise _invalid_credential(exc) from None


def _parse_assertion(
    credential: dict[str, Any],
) -> tuple[AuthenticationCredential, CollectedClientData]:
    try:
        parsed = parse_authentication_credential_json(credential)
        return parsed, parse_client_data_json(parsed.response.client_data_json)
    except MALFORMED as exc:
        raise PasskeyRefused("malformed", facts={"error": str(exc)[:200]}) from None


def _take_challenge(
    client_data: CollectedClientData,
    purpose: str,
    user_id: int | None,
    *,
    refuse: Callable[[], NoReturn],
) -> None:
    """Take the answer's challenge back (its removal commits on its own, so it is spent even
    when the answer then fails); refuse an unknown, used, expired or misdirected one."""
    with unit_of_work():
        issued = passkey_challenges.take(client_data.challenge)
    if issued is None or issued.purpose != purpose or issued.user_id != user_id:
        refuse()


def _stale_registration() -> NoReturn:
    raise ValidationError.single(
        "credential", "The passkey request expired or was already used; start again"
    )


def _stale_sign_in() -> NoReturn:
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
    except MALFORMED as exc:
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


def _invalid_credential(exc: Exception) -> ValidationError:
    return ValidationError.single("credential", f"The passkey was not accepted: {exc}"[:300])


def _timeout_ms() -> int:
    return int(current_app.config["PASSKEY_CHALLENGE_SECONDS"]) * 1000


def _as_json(options_json: str) -> dict[str, Any]:
    options: dict[str, Any] = json.loads(options_json)
    return options
