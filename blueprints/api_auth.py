"""Token authentication under `/api/v1/auth` (contract §3)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from blueprints.api import bp
from blueprints.endpoint import endpoint
from blueprints.rate_limits import (
    account_limit,
    address_limit,
    code_limits,
    login_limits,
    password_check_limits,
)
from blueprints.security import current_principal
from envelope import success
from schemas.auth import (
    ForgotPasswordRequest,
    LoginRequest,
    LogoutRequest,
    PasswordChangeRequest,
    RefreshRequest,
    ResetPasswordRequest,
    TokenPair,
    VerifyEmailRequest,
)
from schemas.mfa import (
    MfaCodeRequest,
    MfaEnrolment,
    MfaLoginRequest,
    MfaRequired,
    MfaStatus,
    RecoveryCodes,
    RecoveryCodesRequest,
)
from schemas.user import UserRead
from services import mfa_service
from services.auth import registration, second_factor, signin
from services.session_service import IssuedTokens

TAGS = ("auth",)


@bp.post("/auth/login")
@login_limits
@endpoint(body=LoginRequest, response=TokenPair | MfaRequired, errors=(401, 403, 429), tags=TAGS)
def login(body: LoginRequest) -> object:
    """Sign in with email and password; answers an access and a refresh token.
    With two-factor authentication on, answers `mfa_required` and an `mfa_token` instead:
    finish with `POST /auth/mfa`."""
    return signin.login(email=body.email, password=body.password)


@bp.post("/auth/mfa")
@code_limits
@endpoint(body=MfaLoginRequest, response=TokenPair, errors=(401, 403, 429), tags=TAGS)
def login_mfa(body: MfaLoginRequest) -> IssuedTokens:
    """Second sign-in step: the `mfa_token` from login and a code (app or recovery code)."""
    return signin.complete_mfa_login(mfa_token=body.mfa_token, code=body.code)


@bp.get("/auth/2fa")
@endpoint(response=MfaStatus, auth=True, errors=(401,), tags=TAGS)
def mfa_status() -> object:
    """Whether two-factor authentication is on, and how many recovery codes are left."""
    return mfa_service.status(current_principal().id)


@bp.post("/auth/2fa/enroll")
@endpoint(response=MfaEnrolment, auth=True, errors=(401, 409, 503), tags=TAGS)
def mfa_enroll() -> object:
    """Start enrolment: a new secret, its otpauth URI and QR code (inline SVG).
    Nothing changes at sign-in until `/auth/2fa/confirm` accepts a first code."""
    return second_factor.start_mfa_enrolment(principal=current_principal())


@bp.post("/auth/2fa/confirm")
@code_limits
@endpoint(
    body=MfaCodeRequest, response=RecoveryCodes, auth=True, errors=(401, 404, 409, 429), tags=TAGS
)
def mfa_confirm(body: MfaCodeRequest) -> object:
    """Turn two-factor authentication on with a first code; answers ten recovery codes, once."""
    codes = second_factor.confirm_mfa(principal=current_principal(), code=body.code)
    return {"recovery_codes": codes}


@bp.post("/auth/2fa/disable")
@code_limits
@endpoint(
    body=MfaCodeRequest,
    auth=True,
    errors=(401, 404, 429),
    message="Two-factor authentication disabled",
    tags=TAGS,
)
def mfa_disable(body: MfaCodeRequest) -> None:
    """Turn two-factor authentication off with a code from the app or a recovery code."""
    second_factor.disable_mfa(principal=current_principal(), code=body.code)


@bp.post("/auth/2fa/recovery-codes")
@password_check_limits
@code_limits
@endpoint(
    body=RecoveryCodesRequest,
    response=RecoveryCodes,
    auth=True,
    errors=(401, 404, 429),
    tags=TAGS,
)
def regenerate_recovery_codes(body: RecoveryCodesRequest) -> object:
    """New recovery codes, confirmed by your `password` or a `code` from the app; the old codes
    stop working. A wrong one counts toward the lockout like every re-check."""
    codes = second_factor.regenerate_recovery_codes(
        principal=current_principal(), password=body.password, code=body.code
    )
    return {"recovery_codes": codes}


@bp.post("/auth/refresh")
@address_limit("RATELIMIT_REFRESH", "refresh")
@endpoint(body=RefreshRequest, response=TokenPair, errors=(401, 429), tags=TAGS)
def refresh(body: RefreshRequest) -> IssuedTokens:
    """Exchange a refresh token for a new pair; the old refresh token stops working."""
    return signin.refresh(refresh_token=body.refresh_token)


@bp.post("/auth/logout")
@endpoint(body=LogoutRequest, auth=True, message="Logged out", tags=TAGS)
def logout(body: LogoutRequest) -> None:
    """End this sign-in: the access token and the refresh tokens of this login stop working."""
    signin.logout(principal=current_principal(), refresh_token=body.refresh_token)


@bp.post("/auth/password")
@password_check_limits
@endpoint(
    body=PasswordChangeRequest,
    auth=True,
    errors=(401, 429),
    message="Password changed",
    tags=TAGS,
)
def change_password(body: PasswordChangeRequest) -> None:
    """Change your password; every other session and token of yours ends."""
    registration.change_password(
        principal=current_principal(),
        current_password=body.current_password,
        new_password=body.new_password,
    )


@bp.post("/auth/forgot-password")
@address_limit("RATELIMIT_FORGOT_PASSWORD", "forgot-addr")
@account_limit("RATELIMIT_FORGOT_PASSWORD", "forgot-account")
@endpoint(body=ForgotPasswordRequest, status=202, errors=(429,), tags=TAGS)
def forgot_password(body: ForgotPasswordRequest) -> ResponseReturnValue:
    """Mail a password-reset link; the answer is the same whether or not the email exists."""
    registration.request_password_reset(email=body.email)
    return success(None, "If the email belongs to an account, a reset link is on its way", 202)


@bp.post("/auth/reset-password")
@endpoint(body=ResetPasswordRequest, errors=(401,), message="Password reset", tags=TAGS)
def reset_password(body: ResetPasswordRequest) -> None:
    """Set a new password with the mailed token; every session of the account ends."""
    registration.reset_password(token=body.token, password=body.password)


@bp.post("/auth/send-verification-email")
@endpoint(auth=True, status=202, message="Verification email sent", tags=TAGS)
def send_verification_email() -> None:
    """Mail a fresh email-verification link to the signed-in user."""
    registration.send_verification(user=current_principal().user)


@bp.post("/auth/verify-email")
@endpoint(body=VerifyEmailRequest, response=UserRead, errors=(401,), tags=TAGS)
def verify_email(body: VerifyEmailRequest) -> object:
    """Confirm an email address with the mailed token."""
    return registration.verify_email(token=body.token)
