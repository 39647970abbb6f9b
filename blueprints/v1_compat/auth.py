"""`/v1/auth/...`: the old service's sign-up, sign-in, tokens and account recovery."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from blueprints.rate_limits import account_limit, address_limit, login_limits
from blueprints.v1_compat.common import (
    RequestInput,
    answer,
    authenticate,
    bp,
    documented,
    legacy_tokens,
    legacy_user,
    no_content,
    query_arguments,
    request_body,
)
from domain import passwords
from errors import InvalidToken
from schemas.v1_compat import (
    ForgotPasswordBody,
    LegacyAuth,
    LegacyError,
    LegacyTokens,
    LoginBody,
    PasswordBody,
    RefreshTokenBody,
    RegisterBody,
    TokenQuery,
)
from services.auth import registration, signin
from services.auth.authentication import API
from services.auth.second_factor import MfaChallenge

TAGS = ("auth",)


@bp.post("/auth/register")
@documented(body=RegisterBody, response=LegacyAuth, status=201, errors=(429,), tags=TAGS)
@address_limit("RATELIMIT_REGISTER", "register")
def register() -> ResponseReturnValue:
    """Create an account and sign it in: 201 `{"user", "tokens"}`."""
    given = RequestInput()
    body = given.model(RegisterBody, request_body())
    given.check()
    tokens = registration.register(
        email=body.email,
        password=body.password,
        name=body.name,
        password_policy=passwords.legacy_api_policy(),
        sign_in=API,
    )
    return answer(LegacyAuth(user=legacy_user(tokens.user), tokens=legacy_tokens(tokens)), 201)


@bp.post("/auth/login")
@documented(body=LoginBody, response=LegacyAuth, errors=(401, 429), tags=TAGS)
@login_limits
def login() -> ResponseReturnValue:
    """Sign in: `{"user", "tokens"}`."""
    given = RequestInput()
    body = given.model(LoginBody, request_body())
    given.check()
    tokens = signin.login(email=body.email, password=body.password)
    if isinstance(tokens, MfaChallenge):
        # The old contract has no second step; never let it skip the second factor.
        message = "Two-factor authentication is on for this account: sign in through /api/v1"
        return answer(LegacyError(code=401, message=message), 401)
    return answer(LegacyAuth(user=legacy_user(tokens.user), tokens=legacy_tokens(tokens)))


@bp.post("/auth/logout")
@documented(body=RefreshTokenBody, status=204, errors=(404,), tags=TAGS)
def logout() -> ResponseReturnValue:
    """End the session of a refresh token: 204, or 404 for an unknown token."""
    given = RequestInput()
    body = given.model(RefreshTokenBody, request_body())
    given.check()
    signin.logout_refresh_token(refresh_token=body.refresh_token)
    return no_content()


@bp.post("/auth/refresh-tokens")
@documented(body=RefreshTokenBody, response=LegacyTokens, errors=(401, 429), tags=TAGS)
@address_limit("RATELIMIT_REFRESH", "refresh")
def refresh_tokens() -> ResponseReturnValue:
    """A new token pair for a refresh token, which stops working."""
    given = RequestInput()
    body = given.model(RefreshTokenBody, request_body())
    given.check()
    return answer(legacy_tokens(signin.refresh(refresh_token=body.refresh_token)))


@bp.post("/auth/forgot-password")
@documented(body=ForgotPasswordBody, status=204, errors=(429,), tags=TAGS)
@address_limit("RATELIMIT_FORGOT_PASSWORD", "forgot-addr")
@account_limit("RATELIMIT_FORGOT_PASSWORD", "forgot-account")
def forgot_password() -> ResponseReturnValue:
    """Mail a reset link; 204 whether or not the email has an account (deliberate)."""
    given = RequestInput()
    body = given.model(ForgotPasswordBody, request_body())
    given.check()
    registration.request_password_reset(email=body.email)
    return no_content()


@bp.post("/auth/reset-password")
@documented(query=TokenQuery, body=PasswordBody, status=204, errors=(401,), tags=TAGS)
def reset_password() -> ResponseReturnValue:
    """Set a new password with `?token=`; every session of the account ends."""
    given = RequestInput()
    query = given.model(TokenQuery, query_arguments())
    body = given.model(PasswordBody, request_body())
    given.check()
    try:
        registration.reset_password(
            token=query.token,
            password=body.password,
            password_policy=passwords.legacy_api_policy(),
        )
    except InvalidToken:
        raise InvalidToken("Password reset failed") from None
    return no_content()


@bp.post("/auth/send-verification-email")
@documented(status=204, auth=True, tags=TAGS)
def send_verification_email() -> ResponseReturnValue:
    """Mail a verification link to the caller."""
    principal = authenticate()
    registration.send_verification(user=principal.user)
    return no_content()


@bp.post("/auth/verify-email")
@documented(query=TokenQuery, status=204, errors=(401,), tags=TAGS)
def verify_email() -> ResponseReturnValue:
    """Confirm an email address with `?token=`."""
    given = RequestInput()
    query = given.model(TokenQuery, query_arguments())
    given.check()
    try:
        registration.verify_email(token=query.token)
    except InvalidToken:
        raise InvalidToken("Email verification failed") from None
    return no_content()
