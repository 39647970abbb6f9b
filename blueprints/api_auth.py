"""Token authentication under `/api/v1/auth` (contract §3)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from blueprints.api import bp
from blueprints.endpoint import endpoint
from blueprints.rate_limits import account_limit, address_limit, login_limits
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
from schemas.user import UserRead
from services import auth_service
from services.session_service import IssuedTokens

TAGS = ("auth",)


@bp.post("/auth/login")
@login_limits
@endpoint(body=LoginRequest, response=TokenPair, errors=(401, 403, 429), tags=TAGS)
def login(body: LoginRequest) -> IssuedTokens:
    """Sign in with email and password; answers an access and a refresh token."""
    return auth_service.login(email=body.email, password=body.password)


@bp.post("/auth/refresh")
@address_limit("RATELIMIT_REFRESH", "refresh")
@endpoint(body=RefreshRequest, response=TokenPair, errors=(401, 429), tags=TAGS)
def refresh(body: RefreshRequest) -> IssuedTokens:
    """Exchange a refresh token for a new pair; the old refresh token stops working."""
    return auth_service.refresh(refresh_token=body.refresh_token)


@bp.post("/auth/logout")
@endpoint(body=LogoutRequest, auth=True, message="Logged out", tags=TAGS)
def logout(body: LogoutRequest) -> None:
    """End this sign-in: the access token and the refresh tokens of this login stop working."""
    auth_service.logout(principal=current_principal(), refresh_token=body.refresh_token)


@bp.post("/auth/password")
@endpoint(body=PasswordChangeRequest, auth=True, message="Password changed", tags=TAGS)
def change_password(body: PasswordChangeRequest) -> None:
    """Change your password; every other session and token of yours ends."""
    auth_service.change_password(
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
    auth_service.request_password_reset(email=body.email)
    return success(None, "If the email belongs to an account, a reset link is on its way", 202)


@bp.post("/auth/reset-password")
@endpoint(body=ResetPasswordRequest, errors=(401,), message="Password reset", tags=TAGS)
def reset_password(body: ResetPasswordRequest) -> None:
    """Set a new password with the mailed token; every session of the account ends."""
    auth_service.reset_password(token=body.token, password=body.password)


@bp.post("/auth/send-verification-email")
@endpoint(auth=True, status=202, message="Verification email sent", tags=TAGS)
def send_verification_email() -> None:
    """Mail a fresh email-verification link to the signed-in user."""
    auth_service.send_verification(user=current_principal().user)


@bp.post("/auth/verify-email")
@endpoint(body=VerifyEmailRequest, response=UserRead, errors=(401,), tags=TAGS)
def verify_email(body: VerifyEmailRequest) -> object:
    """Confirm an email address with the mailed token."""
    return auth_service.verify_email(token=body.token)
