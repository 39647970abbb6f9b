"""Second factors: the sign-in challenge, checking its code, enrolment and turning 2FA off."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app

from errors import (
    AccountDisabled,
    InvalidMfaCode,
    InvalidToken,
)
from models import User
from services import (
    mfa_service,
    password_service,
    user_service,
)
from services.auth.authentication import PASSWORD, Principal
from services.base_service import unit_of_work
from services.security_notices import Notice, notify

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MfaChallenge:
    """The password was right; a second factor is needed: finish with the token and a code."""

    mfa_token: str
    expires_in: int
    mfa_required: bool = True


def challenge(user: User, kind: str, method: str = PASSWORD) -> MfaChallenge:
    """What a sign-in of `kind` answers when `user` has 2FA on (`method`: its first factor)."""
    return MfaChallenge(
        mfa_token=mfa_service.encode_mfa_token(user.id, kind, method),
        expires_in=current_app.config["MFA_TOKEN_SECONDS"],
    )


def check_second_factor(user_id: int, code: str) -> User:
    """The user whose sign-in `code` completes, else INVALID_TOKEN, ACCOUNT_DISABLED or
    INVALID_MFA_CODE."""
    user = user_service.find(user_id)
    if user is None:
        raise InvalidToken()
    if not user.is_active:
        raise AccountDisabled()
    if mfa_service.verify_for_login(user_id, code) is None:
        raise InvalidMfaCode()
    return user


def start_mfa_enrolment(*, principal: Principal) -> mfa_service.Enrolment:
    """A new TOTP secret for the caller, to confirm with a first code."""
    with unit_of_work():
        return mfa_service.start_enrolment(principal.user)


def confirm_mfa(*, principal: Principal, code: str) -> list[str]:
    """Turn 2FA on with a first code; answers the recovery codes (shown once)."""
    with unit_of_work():
        return mfa_service.confirm_enrolment(principal.user, code)


def disable_mfa(*, principal: Principal, code: str) -> None:
    """Turn 2FA off with a code from the app or a recovery code."""
    with unit_of_work():
        mfa_service.disable(principal.user, code)


def regenerate_recovery_codes(
    *, principal: Principal, password: str | None = None, code: str | None = None
) -> list[str]:
    """New recovery codes for the caller, confirmed by their password or a TOTP code; the old
    codes stop working. A wrong password or code counts as a failed attempt."""
    with unit_of_work():
        user = principal.user
        if password is not None:
            password_service.check_current_password(user.password_hash, password, field="password")
        codes = mfa_service.regenerate_recovery_codes(user, code=code)
        notify(user.id, Notice.RECOVERY_CODES_REGENERATED)  # mailed once this commits
        return codes
