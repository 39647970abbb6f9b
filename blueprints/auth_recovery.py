"""Account recovery pages under `/auth`: forgot and reset password, email verification. The
mails link here (`services/email_service.py`)."""

from __future__ import annotations

from flask import flash, request, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from blueprints.auth import TAGS, bp
from blueprints.endpoint import endpoint
from blueprints.pages import form_page, render_page, see_other, wants_html
from blueprints.rate_limits import account_limit, address_limit
from blueprints.security import SESSION_KEY, end_browser_session
from domain.texts import N_
from envelope import success
from errors import InvalidToken
from schemas.auth import ForgotPasswordRequest, ResetPasswordRequest, VerifyEmailRequest
from schemas.user import UserRead
from services.auth import registration

RESET_SENT = N_("If the email belongs to an account, a reset link is on its way")


@bp.get("/forgot-password")
def forgot_password_page() -> ResponseReturnValue:
    """Asks for the email to send a reset link to."""
    return form_page("auth/forgot_password.html", ForgotPasswordRequest)


@bp.post("/forgot-password")
@address_limit("RATELIMIT_FORGOT_PASSWORD", "forgot-addr")
@account_limit("RATELIMIT_FORGOT_PASSWORD", "forgot-account")
@endpoint(
    body=ForgotPasswordRequest,
    status=202,
    errors=(429,),
    page="auth/forgot_password.html",
    tags=TAGS,
)
def forgot_password(body: ForgotPasswordRequest) -> ResponseReturnValue:
    """Mail a password-reset link; the answer is the same whether or not the email exists."""
    registration.request_password_reset(email=body.email)
    if wants_html():
        flash(gettext("%(sent)s. Check your inbox.", sent=gettext(RESET_SENT)), "info")
        return see_other("auth.login_page")
    return success(None, RESET_SENT, 202)


@bp.get("/reset-password")
def reset_password_page() -> ResponseReturnValue:
    """Where the mailed reset link leads: choose a new password, or learn that the link is
    dead before typing one (the link is checked, not used)."""
    token = request.args.get("token")
    if token and wants_html():
        try:
            registration.check_reset_link(token=token)
        except InvalidToken:
            return render_page("auth/reset_password.html", status=401, dead_link=True)
    return form_page("auth/reset_password.html", ResetPasswordRequest)


@bp.post("/reset-password")
@endpoint(
    body=ResetPasswordRequest,
    errors=(401,),
    message="Password reset",
    page="auth/reset_password.html",
    tags=TAGS,
)
def reset_password(body: ResetPasswordRequest) -> object:
    """Set a new password with the mailed token; every session of the account ends."""
    registration.reset_password(token=body.token, password=body.password)
    if SESSION_KEY in session:
        end_browser_session()
    if wants_html():
        flash(gettext("Your password has been reset. Sign in with the new one."), "success")
        return see_other("auth.login_page")
    return None


@bp.get("/verify-email")
@endpoint(
    query=VerifyEmailRequest,
    response=UserRead,
    errors=(401,),
    page="auth/verify_email.html",
    tags=TAGS,
)
def verify_email(query: VerifyEmailRequest) -> object:
    """Where the mailed verification link leads: confirms the address."""
    user = registration.verify_email(token=query.token)
    if wants_html():
        return render_page("auth/verify_email.html", verified_user=user)
    return user
