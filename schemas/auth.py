"""Requests and answers of token authentication, registration and account recovery."""

from __future__ import annotations

from typing import Literal

from schemas.common import (
    Email,
    LinkToken,
    Name,
    NewPassword,
    Password,
    RequestModel,
    ResponseModel,
    Token,
)
from schemas.user import UserRead


class LoginRequest(RequestModel):
    email: Email
    password: Password


class RefreshRequest(RequestModel):
    refresh_token: Token


class LogoutRequest(RequestModel):
    refresh_token: Token | None = None


class PasswordChangeRequest(RequestModel):
    current_password: Password
    new_password: NewPassword


class ForgotPasswordRequest(RequestModel):
    email: Email


class ResetPasswordRequest(RequestModel):
    token: Token
    password: NewPassword


class VerifyEmailRequest(RequestModel):
    token: LinkToken


class RegisterRequest(RequestModel):
    email: Email
    password: NewPassword
    name: Name


class TokenPair(ResponseModel):
    """What login and refresh answer."""

    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme name
    expires_in: int
    user: UserRead


class ProfileUpdate(RequestModel):
    """What the profile page changes."""

    name: Name


class EmailChangeRequest(RequestModel):
    """Ask to change one's email address (confirmed by a link mailed to it)."""

    new_email: Email
    current_password: Password


class EmailChangeToken(RequestModel):
    """A link's token: confirming a new address, or undoing a change."""

    token: LinkToken
