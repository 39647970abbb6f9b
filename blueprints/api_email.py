"""Changing one's email address under `/api/v1/auth/email` (contract §9)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from blueprints.api import bp
from blueprints.endpoint import endpoint
from blueprints.rate_limits import password_check_limits
from blueprints.security import current_principal
from envelope import success
from schemas.auth import EmailChangeRequest, EmailChangeToken
from schemas.user import UserRead
from services.auth import email_change

TAGS = ("auth",)
CHANGE_REQUESTED = "Follow the link mailed to the new address to finish the change"


@bp.post("/auth/email")
@password_check_limits
@endpoint(body=EmailChangeRequest, status=202, auth=True, errors=(400, 401, 409, 429), tags=TAGS)
def request_email_change(body: EmailChangeRequest) -> ResponseReturnValue:
    """Ask to change your email address (with your password): the new address gets a link that
    finishes the change; the old one is told, with a link that undoes it for 7 days."""
    email_change.request_change(
        principal=current_principal(),
        new_email=body.new_email,
        current_password=body.current_password,
    )
    return success(None, CHANGE_REQUESTED, 202)


@bp.post("/auth/email/confirm")
@endpoint(body=EmailChangeToken, response=UserRead, errors=(401, 409), tags=TAGS)
def confirm_email_change(body: EmailChangeToken) -> object:
    """Finish an email change with the token mailed to the new address (it becomes verified)."""
    return email_change.confirm_change(token=body.token)


@bp.post("/auth/email/undo")
@endpoint(body=EmailChangeToken, errors=(401, 409), message="Email change undone", tags=TAGS)
def undo_email_change(body: EmailChangeToken) -> None:
    """Undo an email change with the token mailed to the old address: it is the account's address
    again, and every session and token of the account ends."""
    email_change.undo_change(token=body.token)
