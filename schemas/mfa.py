"""Requests and answers of two-factor authentication."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from schemas.common import NO_NUL, Password, RequestModel, ResponseModel, Token

Code = Annotated[
    str,
    Field(
        min_length=6,
        max_length=32,
        pattern=NO_NUL,
        description="a 6-digit code from the authenticator app, or a recovery code",
    ),
]


class MfaCodeRequest(RequestModel):
    code: Code


class RecoveryCodesRequest(RequestModel):
    """Confirm regenerating the recovery codes: your password, or a code from the app."""

    # The rule `_exactly_one_proof` checks, stated for clients (and contract fuzzers).
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": [name], "properties": {name: {"type": "string"}}}
                for name in ("password", "code")
            ]
        }
    )

    password: Password | None = None
    code: Code | None = Field(None, description="a 6-digit code from the authenticator app")

    @model_validator(mode="after")
    def _exactly_one_proof(self) -> RecoveryCodesRequest:
        if (self.password is None) == (self.code is None):
            raise ValueError("Give either password or code")
        return self


class MfaLoginRequest(RequestModel):
    mfa_token: Token
    code: Code


class MfaBrowserRequest(RequestModel):
    """The browser's second sign-in step (the pending sign-in is in the session cookie)."""

    code: Code


class MfaRequired(ResponseModel):
    """What login answers instead of tokens when the account has 2FA on."""

    mfa_required: Literal[True] = True
    mfa_token: str
    expires_in: int


class MfaStatus(ResponseModel):
    enabled: bool
    pending: bool
    recovery_codes_left: int


class MfaEnrolment(ResponseModel):
    """Add the account to an authenticator app: scan the QR code or type the secret."""

    secret: str
    otpauth_uri: str
    qr_svg: str


class RecoveryCodes(ResponseModel):
    """Ten one-time codes, shown once: each replaces a code from the app one time."""

    recovery_codes: list[str]
