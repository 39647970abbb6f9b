"""The email-change pages under `/auth/email`: the profile's form posts here; the links mailed
to the new and the old address lead here. A link's page only shows a button (a GET changes
nothing, so a mail scanner following links cannot confirm or undo anything)."""

from __future__ import annotations

from flask import flash, request, session
from flask.typing import ResponseReturnValue

from blueprints.api_email import CHANGE_REQUESTED
from blueprints.auth import TAGS, bp
from blueprints.endpoint import endpoint
from blueprints.pages import render_page, see_other, wants_html
from blueprints.rate_limits import password_check_limits
from blueprints.security import SESSION_KEY, current_principal, end_browser_session
from envelope import success
from errors import InvalidToken
from models import TokenPurpose
from schemas.auth import EmailChangeRequest, EmailChangeToken
from schemas.user import UserRead
from services.auth import email_change

# The profile, with the email form's errors on its own fields.
REFUSED_PAGE = "auth/profile_email_refused.html"
CONFIRM_PAGE = "auth/email_confirm.html"
UNDO_PAGE = "auth/email_undo.html"


@bp.post("/email")
@password_check_limits
@endpoint(
    body=EmailChangeRequest,
    status=202,
    auth=True,
    errors=(400, 401, 409, 429),
    page=REFUSED_PAGE,
    tags=TAGS,
)
def request_email_change(body: EmailChangeRequest) -> ResponseReturnValue:
    """Ask to change your email address: a link goes to the new one, a notice to the old."""
    email_change.request_change(
        principal=current_principal(),
        new_email=body.new_email,
        current_password=body.current_password,
    )
    if wants_html():
        flash(f"We sent a link to {body.new_email}. {CHANGE_REQUESTED}.", "info")
        return see_other("auth.get_profile")
    return success(None, CHANGE_REQUESTED, 202)


@bp.get("/email/confirm")
def confirm_email_change_page() -> ResponseReturnValue:
    """Where the link mailed to the new address leads: a button that finishes the change."""
    return _link_page(CONFIRM_PAGE, TokenPurpose.CHANGE_EMAIL)


@bp.post("/email/confirm")
@endpoint(body=EmailChangeToken, response=UserRead, errors=(401, 409), page=CONFIRM_PAGE, tags=TAGS)
def confirm_email_change(body: EmailChangeToken) -> object:
    """Finish an email change with the mailed token; the new address is confirmed."""
    user = email_change.confirm_change(token=body.token)
    if wants_html():
        return render_page(CONFIRM_PAGE, done=True, email=user.email)
    return user


@bp.get("/email/undo")
def undo_email_change_page() -> ResponseReturnValue:
    """Where the link mailed to the old address leads: a button that undoes the change."""
    return _link_page(UNDO_PAGE, TokenPurpose.UNDO_EMAIL_CHANGE)


@bp.post("/email/undo")
@endpoint(body=EmailChangeToken, errors=(401, 409), page=UNDO_PAGE, tags=TAGS)
def undo_email_change(body: EmailChangeToken) -> object:
    """Undo an email change with the mailed token: the old address is back, every session ends."""
    user = email_change.undo_change(token=body.token)
    if SESSION_KEY in session:
        end_browser_session()
    if wants_html():
        return render_page(UNDO_PAGE, done=True, email=user.email)
    return success(None, "Email change undone")


def _link_page(template: str, purpose: TokenPurpose) -> ResponseReturnValue:
    token = request.args.get("token", "")
    try:
        email = email_change.check_link(token=token, purpose=purpose) if token else None
    except InvalidToken:
        return render_page(template, status=401, dead_link=True)
    return render_page(template, token=token, email=email)
